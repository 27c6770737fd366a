//! Field tables for the Kubernetes protobuf messages k2d reads.
//!
//! Field numbers are those of Kubernetes v1.35's `generated.proto` files
//! (k8s.io/api core, apps, batch, events, autoscaling, authentication,
//! authorization, policy, rbac, networking, scheduling v1;
//! k8s.io/apimachinery meta/v1); numbers never
//! change or get reused, so older clients (kubectl 1.27-1.33) send a subset.
//! JSON names, struct order and [`Presence`] follow the Go `types.go` tags.
//! Each kind's section holds the messages first needed by it; later kinds
//! reuse earlier ones.
//!
//! Not covered: PersistentVolume (and its volume sources), and every kind
//! not listed in `schema::ROOTS`.

use super::schema::Ty::*;
use super::schema::*;

// ---- core/v1 Namespace and what it alone needs ----

pub static OWNER_REFERENCE: Message = Message {
    name: "OwnerReference",
    fields: &[
        one(5, "apiVersion", Str).req(),
        one(1, "kind", Str).req(),
        one(3, "name", Str).req(),
        one(4, "uid", Str).req(),
        one(6, "controller", Bool).ptr(),
        one(7, "blockOwnerDeletion", Bool).ptr(),
    ],
};

pub static MANAGED_FIELDS_ENTRY: Message = Message {
    name: "ManagedFieldsEntry",
    fields: &[
        one(1, "manager", Str),
        one(2, "operation", Str),
        one(3, "apiVersion", Str),
        one(4, "time", Time).ptr(),
        one(6, "fieldsType", Str),
        one(7, "fieldsV1", Raw).ptr(),
        one(8, "subresource", Str),
    ],
};

pub static OBJECT_META: Message = Message {
    name: "ObjectMeta",
    fields: &[
        one(1, "name", Str),
        one(2, "generateName", Str),
        one(3, "namespace", Str),
        one(4, "selfLink", Str),
        one(5, "uid", Str),
        one(6, "resourceVersion", Str),
        one(7, "generation", I64),
        one(8, "creationTimestamp", Time).req(),
        one(9, "deletionTimestamp", Time).ptr(),
        one(10, "deletionGracePeriodSeconds", I64).ptr(),
        map(11, "labels", Str),
        map(12, "annotations", Str),
        list(13, "ownerReferences", Msg(&OWNER_REFERENCE)),
        list(14, "finalizers", Str),
        list(17, "managedFields", Msg(&MANAGED_FIELDS_ENTRY)),
    ],
};

pub static NAMESPACE_SPEC: Message =
    Message { name: "NamespaceSpec", fields: &[list(1, "finalizers", Str)] };

pub static NAMESPACE_CONDITION: Message = Message {
    name: "NamespaceCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(4, "lastTransitionTime", Time).req(),
        one(5, "reason", Str),
        one(6, "message", Str),
    ],
};

pub static NAMESPACE_STATUS: Message = Message {
    name: "NamespaceStatus",
    fields: &[one(1, "phase", Str), list(2, "conditions", Msg(&NAMESPACE_CONDITION))],
};

pub static NAMESPACE: Message = Message {
    name: "Namespace",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&NAMESPACE_SPEC)).req(),
        one(3, "status", Msg(&NAMESPACE_STATUS)).req(),
    ],
};

// ---- core/v1 ConfigMap and what it alone needs ----

pub static CONFIG_MAP: Message = Message {
    name: "ConfigMap",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(4, "immutable", Bool).ptr(),
        map(2, "data", Str),
        map(3, "binaryData", Bytes),
    ],
};

// ---- core/v1 Secret and what it alone needs ----

pub static SECRET: Message = Message {
    name: "Secret",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(5, "immutable", Bool).ptr(),
        map(2, "data", Bytes),
        map(4, "stringData", Str),
        one(3, "type", Str),
    ],
};

// ---- core/v1 ServiceAccount and what it alone needs ----

pub static OBJECT_REFERENCE: Message = Message {
    name: "ObjectReference",
    fields: &[
        one(1, "kind", Str),
        one(2, "namespace", Str),
        one(3, "name", Str),
        one(4, "uid", Str),
        one(5, "apiVersion", Str),
        one(6, "resourceVersion", Str),
        one(7, "fieldPath", Str),
    ],
};

pub static LOCAL_OBJECT_REFERENCE: Message =
    Message { name: "LocalObjectReference", fields: &[one(1, "name", Str)] };

pub static SERVICE_ACCOUNT: Message = Message {
    name: "ServiceAccount",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        list(2, "secrets", Msg(&OBJECT_REFERENCE)),
        list(3, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE)),
        one(4, "automountServiceAccountToken", Bool).ptr(),
    ],
};

// ---- core/v1 Event and what it alone needs ----

pub static EVENT_SOURCE: Message =
    Message { name: "EventSource", fields: &[one(1, "component", Str), one(2, "host", Str)] };

pub static EVENT_SERIES: Message = Message {
    name: "EventSeries",
    fields: &[one(1, "count", I32), one(2, "lastObservedTime", MicroTime).req()],
};

pub static EVENT: Message = Message {
    name: "Event",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "involvedObject", Msg(&OBJECT_REFERENCE)).req(),
        one(3, "reason", Str),
        one(4, "message", Str),
        one(5, "source", Msg(&EVENT_SOURCE)).req(),
        one(6, "firstTimestamp", Time).req(),
        one(7, "lastTimestamp", Time).req(),
        one(8, "count", I32),
        one(9, "type", Str),
        one(10, "eventTime", MicroTime).req(),
        one(11, "series", Msg(&EVENT_SERIES)).ptr(),
        one(12, "action", Str),
        one(13, "related", Msg(&OBJECT_REFERENCE)).ptr(),
        one(14, "reportingComponent", Str).req(),
        one(15, "reportingInstance", Str).req(),
    ],
};

// ---- core/v1 Node and what it alone needs ----

pub static TAINT: Message = Message {
    name: "Taint",
    fields: &[
        one(1, "key", Str).req(),
        one(2, "value", Str),
        one(3, "effect", Str).req(),
        one(4, "timeAdded", Time).ptr(),
    ],
};

pub static CONFIG_MAP_NODE_CONFIG_SOURCE: Message = Message {
    name: "ConfigMapNodeConfigSource",
    fields: &[
        one(1, "namespace", Str).req(),
        one(2, "name", Str).req(),
        one(3, "uid", Str),
        one(4, "resourceVersion", Str),
        one(5, "kubeletConfigKey", Str).req(),
    ],
};

pub static NODE_CONFIG_SOURCE: Message = Message {
    name: "NodeConfigSource",
    fields: &[one(2, "configMap", Msg(&CONFIG_MAP_NODE_CONFIG_SOURCE)).ptr()],
};

pub static NODE_SPEC: Message = Message {
    name: "NodeSpec",
    fields: &[
        one(1, "podCIDR", Str),
        list(7, "podCIDRs", Str),
        one(3, "providerID", Str),
        one(4, "unschedulable", Bool),
        list(5, "taints", Msg(&TAINT)),
        one(6, "configSource", Msg(&NODE_CONFIG_SOURCE)).ptr(),
        one(2, "externalID", Str),
    ],
};

pub static NODE_CONDITION: Message = Message {
    name: "NodeCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(3, "lastHeartbeatTime", Time).req(),
        one(4, "lastTransitionTime", Time).req(),
        one(5, "reason", Str),
        one(6, "message", Str),
    ],
};

pub static NODE_ADDRESS: Message = Message {
    name: "NodeAddress",
    fields: &[one(1, "type", Str).req(), one(2, "address", Str).req()],
};

pub static DAEMON_ENDPOINT: Message =
    Message { name: "DaemonEndpoint", fields: &[one(1, "Port", I32).req()] };

pub static NODE_DAEMON_ENDPOINTS: Message = Message {
    name: "NodeDaemonEndpoints",
    fields: &[one(1, "kubeletEndpoint", Msg(&DAEMON_ENDPOINT)).req()],
};

pub static NODE_SWAP_STATUS: Message =
    Message { name: "NodeSwapStatus", fields: &[one(1, "capacity", I64).ptr()] };

pub static NODE_SYSTEM_INFO: Message = Message {
    name: "NodeSystemInfo",
    fields: &[
        one(1, "machineID", Str).req(),
        one(2, "systemUUID", Str).req(),
        one(3, "bootID", Str).req(),
        one(4, "kernelVersion", Str).req(),
        one(5, "osImage", Str).req(),
        one(6, "containerRuntimeVersion", Str).req(),
        one(7, "kubeletVersion", Str).req(),
        one(8, "kubeProxyVersion", Str).req(),
        one(9, "operatingSystem", Str).req(),
        one(10, "architecture", Str).req(),
        one(11, "swap", Msg(&NODE_SWAP_STATUS)).ptr(),
    ],
};

pub static CONTAINER_IMAGE: Message = Message {
    name: "ContainerImage",
    fields: &[list(1, "names", Str).nullable(), one(2, "sizeBytes", I64)],
};

pub static ATTACHED_VOLUME: Message = Message {
    name: "AttachedVolume",
    fields: &[one(1, "name", Str).req(), one(2, "devicePath", Str).req()],
};

pub static NODE_CONFIG_STATUS: Message = Message {
    name: "NodeConfigStatus",
    fields: &[
        one(1, "assigned", Msg(&NODE_CONFIG_SOURCE)).ptr(),
        one(2, "active", Msg(&NODE_CONFIG_SOURCE)).ptr(),
        one(3, "lastKnownGood", Msg(&NODE_CONFIG_SOURCE)).ptr(),
        one(4, "error", Str),
    ],
};

pub static NODE_RUNTIME_HANDLER_FEATURES: Message = Message {
    name: "NodeRuntimeHandlerFeatures",
    fields: &[one(1, "recursiveReadOnlyMounts", Bool).ptr(), one(2, "userNamespaces", Bool).ptr()],
};

pub static NODE_RUNTIME_HANDLER: Message = Message {
    name: "NodeRuntimeHandler",
    fields: &[
        one(1, "name", Str).req(),
        one(2, "features", Msg(&NODE_RUNTIME_HANDLER_FEATURES)).ptr(),
    ],
};

pub static NODE_FEATURES: Message =
    Message { name: "NodeFeatures", fields: &[one(1, "supplementalGroupsPolicy", Bool).ptr()] };

pub static NODE_STATUS: Message = Message {
    name: "NodeStatus",
    fields: &[
        map(1, "capacity", Qty),
        map(2, "allocatable", Qty),
        one(3, "phase", Str),
        list(4, "conditions", Msg(&NODE_CONDITION)),
        list(5, "addresses", Msg(&NODE_ADDRESS)),
        one(6, "daemonEndpoints", Msg(&NODE_DAEMON_ENDPOINTS)).req(),
        one(7, "nodeInfo", Msg(&NODE_SYSTEM_INFO)).req(),
        list(8, "images", Msg(&CONTAINER_IMAGE)),
        list(9, "volumesInUse", Str),
        list(10, "volumesAttached", Msg(&ATTACHED_VOLUME)),
        one(11, "config", Msg(&NODE_CONFIG_STATUS)).ptr(),
        list(12, "runtimeHandlers", Msg(&NODE_RUNTIME_HANDLER)),
        one(13, "features", Msg(&NODE_FEATURES)).ptr(),
        list(14, "declaredFeatures", Str),
    ],
};

pub static NODE: Message = Message {
    name: "Node",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&NODE_SPEC)).req(),
        one(3, "status", Msg(&NODE_STATUS)).req(),
    ],
};

// ---- core/v1 Pod and what it alone needs ----

pub static HOST_PATH_VOLUME_SOURCE: Message = Message {
    name: "HostPathVolumeSource",
    fields: &[one(1, "path", Str).req(), one(2, "type", Str).ptr()],
};

pub static EMPTY_DIR_VOLUME_SOURCE: Message = Message {
    name: "EmptyDirVolumeSource",
    fields: &[one(1, "medium", Str), one(2, "sizeLimit", Qty).ptr()],
};

pub static GCE_PERSISTENT_DISK_VOLUME_SOURCE: Message = Message {
    name: "GCEPersistentDiskVolumeSource",
    fields: &[
        one(1, "pdName", Str).req(),
        one(2, "fsType", Str),
        one(3, "partition", I32),
        one(4, "readOnly", Bool),
    ],
};

pub static AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Message = Message {
    name: "AWSElasticBlockStoreVolumeSource",
    fields: &[
        one(1, "volumeID", Str).req(),
        one(2, "fsType", Str),
        one(3, "partition", I32),
        one(4, "readOnly", Bool),
    ],
};

pub static GIT_REPO_VOLUME_SOURCE: Message = Message {
    name: "GitRepoVolumeSource",
    fields: &[one(1, "repository", Str).req(), one(2, "revision", Str), one(3, "directory", Str)],
};

pub static KEY_TO_PATH: Message = Message {
    name: "KeyToPath",
    fields: &[one(1, "key", Str).req(), one(2, "path", Str).req(), one(3, "mode", I32).ptr()],
};

pub static SECRET_VOLUME_SOURCE: Message = Message {
    name: "SecretVolumeSource",
    fields: &[
        one(1, "secretName", Str),
        list(2, "items", Msg(&KEY_TO_PATH)),
        one(3, "defaultMode", I32).ptr(),
        one(4, "optional", Bool).ptr(),
    ],
};

pub static NFS_VOLUME_SOURCE: Message = Message {
    name: "NFSVolumeSource",
    fields: &[one(1, "server", Str).req(), one(2, "path", Str).req(), one(3, "readOnly", Bool)],
};

pub static ISCSI_VOLUME_SOURCE: Message = Message {
    name: "ISCSIVolumeSource",
    fields: &[
        one(1, "targetPortal", Str).req(),
        one(2, "iqn", Str).req(),
        one(3, "lun", I32).req(),
        one(4, "iscsiInterface", Str),
        one(5, "fsType", Str),
        one(6, "readOnly", Bool),
        list(7, "portals", Str),
        one(8, "chapAuthDiscovery", Bool),
        one(11, "chapAuthSession", Bool),
        one(10, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)).ptr(),
        one(12, "initiatorName", Str).ptr(),
    ],
};

pub static GLUSTERFS_VOLUME_SOURCE: Message = Message {
    name: "GlusterfsVolumeSource",
    fields: &[one(1, "endpoints", Str).req(), one(2, "path", Str).req(), one(3, "readOnly", Bool)],
};

pub static PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Message = Message {
    name: "PersistentVolumeClaimVolumeSource",
    fields: &[one(1, "claimName", Str).req(), one(2, "readOnly", Bool)],
};

pub static RBD_VOLUME_SOURCE: Message = Message {
    name: "RBDVolumeSource",
    fields: &[
        list(1, "monitors", Str).nullable(),
        one(2, "image", Str).req(),
        one(3, "fsType", Str),
        one(4, "pool", Str),
        one(5, "user", Str),
        one(6, "keyring", Str),
        one(7, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)).ptr(),
        one(8, "readOnly", Bool),
    ],
};

pub static FLEX_VOLUME_SOURCE: Message = Message {
    name: "FlexVolumeSource",
    fields: &[
        one(1, "driver", Str).req(),
        one(2, "fsType", Str),
        one(3, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)).ptr(),
        one(4, "readOnly", Bool),
        map(5, "options", Str),
    ],
};

pub static CINDER_VOLUME_SOURCE: Message = Message {
    name: "CinderVolumeSource",
    fields: &[
        one(1, "volumeID", Str).req(),
        one(2, "fsType", Str),
        one(3, "readOnly", Bool),
        one(4, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)).ptr(),
    ],
};

pub static CEPH_FS_VOLUME_SOURCE: Message = Message {
    name: "CephFSVolumeSource",
    fields: &[
        list(1, "monitors", Str).nullable(),
        one(2, "path", Str),
        one(3, "user", Str),
        one(4, "secretFile", Str),
        one(5, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)).ptr(),
        one(6, "readOnly", Bool),
    ],
};

pub static FLOCKER_VOLUME_SOURCE: Message = Message {
    name: "FlockerVolumeSource",
    fields: &[one(1, "datasetName", Str), one(2, "datasetUUID", Str)],
};

pub static OBJECT_FIELD_SELECTOR: Message = Message {
    name: "ObjectFieldSelector",
    fields: &[one(1, "apiVersion", Str), one(2, "fieldPath", Str).req()],
};

pub static RESOURCE_FIELD_SELECTOR: Message = Message {
    name: "ResourceFieldSelector",
    fields: &[
        one(1, "containerName", Str),
        one(2, "resource", Str).req(),
        one(3, "divisor", Qty).req(),
    ],
};

pub static DOWNWARD_API_VOLUME_FILE: Message = Message {
    name: "DownwardAPIVolumeFile",
    fields: &[
        one(1, "path", Str).req(),
        one(2, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR)).ptr(),
        one(3, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR)).ptr(),
        one(4, "mode", I32).ptr(),
    ],
};

pub static DOWNWARD_API_VOLUME_SOURCE: Message = Message {
    name: "DownwardAPIVolumeSource",
    fields: &[list(1, "items", Msg(&DOWNWARD_API_VOLUME_FILE)), one(2, "defaultMode", I32).ptr()],
};

pub static FC_VOLUME_SOURCE: Message = Message {
    name: "FCVolumeSource",
    fields: &[
        list(1, "targetWWNs", Str),
        one(2, "lun", I32).ptr(),
        one(3, "fsType", Str),
        one(4, "readOnly", Bool),
        list(5, "wwids", Str),
    ],
};

pub static AZURE_FILE_VOLUME_SOURCE: Message = Message {
    name: "AzureFileVolumeSource",
    fields: &[
        one(1, "secretName", Str).req(),
        one(2, "shareName", Str).req(),
        one(3, "readOnly", Bool),
    ],
};

pub static CONFIG_MAP_VOLUME_SOURCE: Message = Message {
    name: "ConfigMapVolumeSource",
    fields: &[
        one(1, "", Msg(&LOCAL_OBJECT_REFERENCE)).inline(),
        list(2, "items", Msg(&KEY_TO_PATH)),
        one(3, "defaultMode", I32).ptr(),
        one(4, "optional", Bool).ptr(),
    ],
};

pub static VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Message = Message {
    name: "VsphereVirtualDiskVolumeSource",
    fields: &[
        one(1, "volumePath", Str).req(),
        one(2, "fsType", Str),
        one(3, "storagePolicyName", Str),
        one(4, "storagePolicyID", Str),
    ],
};

pub static QUOBYTE_VOLUME_SOURCE: Message = Message {
    name: "QuobyteVolumeSource",
    fields: &[
        one(1, "registry", Str).req(),
        one(2, "volume", Str).req(),
        one(3, "readOnly", Bool),
        one(4, "user", Str),
        one(5, "group", Str),
        one(6, "tenant", Str),
    ],
};

pub static AZURE_DISK_VOLUME_SOURCE: Message = Message {
    name: "AzureDiskVolumeSource",
    fields: &[
        one(1, "diskName", Str).req(),
        one(2, "diskURI", Str).req(),
        one(3, "cachingMode", Str).ptr(),
        one(4, "fsType", Str).ptr(),
        one(5, "readOnly", Bool).ptr(),
        one(6, "kind", Str).ptr(),
    ],
};

pub static PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Message = Message {
    name: "PhotonPersistentDiskVolumeSource",
    fields: &[one(1, "pdID", Str).req(), one(2, "fsType", Str)],
};

pub static SECRET_PROJECTION: Message = Message {
    name: "SecretProjection",
    fields: &[
        one(1, "", Msg(&LOCAL_OBJECT_REFERENCE)).inline(),
        list(2, "items", Msg(&KEY_TO_PATH)),
        one(4, "optional", Bool).ptr(),
    ],
};

pub static DOWNWARD_API_PROJECTION: Message = Message {
    name: "DownwardAPIProjection",
    fields: &[list(1, "items", Msg(&DOWNWARD_API_VOLUME_FILE))],
};

pub static CONFIG_MAP_PROJECTION: Message = Message {
    name: "ConfigMapProjection",
    fields: &[
        one(1, "", Msg(&LOCAL_OBJECT_REFERENCE)).inline(),
        list(2, "items", Msg(&KEY_TO_PATH)),
        one(4, "optional", Bool).ptr(),
    ],
};

pub static SERVICE_ACCOUNT_TOKEN_PROJECTION: Message = Message {
    name: "ServiceAccountTokenProjection",
    fields: &[
        one(1, "audience", Str),
        one(2, "expirationSeconds", I64).ptr(),
        one(3, "path", Str).req(),
    ],
};

pub static LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "LabelSelectorRequirement",
    fields: &[one(1, "key", Str).req(), one(2, "operator", Str).req(), list(3, "values", Str)],
};

pub static LABEL_SELECTOR: Message = Message {
    name: "LabelSelector",
    fields: &[
        map(1, "matchLabels", Str),
        list(2, "matchExpressions", Msg(&LABEL_SELECTOR_REQUIREMENT)),
    ],
};

pub static CLUSTER_TRUST_BUNDLE_PROJECTION: Message = Message {
    name: "ClusterTrustBundleProjection",
    fields: &[
        one(1, "name", Str).ptr(),
        one(2, "signerName", Str).ptr(),
        one(3, "labelSelector", Msg(&LABEL_SELECTOR)).ptr(),
        one(5, "optional", Bool).ptr(),
        one(4, "path", Str).req(),
    ],
};

pub static POD_CERTIFICATE_PROJECTION: Message = Message {
    name: "PodCertificateProjection",
    fields: &[
        one(1, "signerName", Str),
        one(2, "keyType", Str),
        one(3, "maxExpirationSeconds", I32).ptr(),
        one(4, "credentialBundlePath", Str),
        one(5, "keyPath", Str),
        one(6, "certificateChainPath", Str),
        map(7, "userAnnotations", Str),
    ],
};

pub static VOLUME_PROJECTION: Message = Message {
    name: "VolumeProjection",
    fields: &[
        one(1, "secret", Msg(&SECRET_PROJECTION)).ptr(),
        one(2, "downwardAPI", Msg(&DOWNWARD_API_PROJECTION)).ptr(),
        one(3, "configMap", Msg(&CONFIG_MAP_PROJECTION)).ptr(),
        one(4, "serviceAccountToken", Msg(&SERVICE_ACCOUNT_TOKEN_PROJECTION)).ptr(),
        one(5, "clusterTrustBundle", Msg(&CLUSTER_TRUST_BUNDLE_PROJECTION)).ptr(),
        one(6, "podCertificate", Msg(&POD_CERTIFICATE_PROJECTION)).ptr(),
    ],
};

pub static PROJECTED_VOLUME_SOURCE: Message = Message {
    name: "ProjectedVolumeSource",
    fields: &[
        list(1, "sources", Msg(&VOLUME_PROJECTION)).nullable(),
        one(2, "defaultMode", I32).ptr(),
    ],
};

pub static PORTWORX_VOLUME_SOURCE: Message = Message {
    name: "PortworxVolumeSource",
    fields: &[one(1, "volumeID", Str).req(), one(2, "fsType", Str), one(3, "readOnly", Bool)],
};

pub static SCALE_IO_VOLUME_SOURCE: Message = Message {
    name: "ScaleIOVolumeSource",
    fields: &[
        one(1, "gateway", Str).req(),
        one(2, "system", Str).req(),
        one(3, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)).nullable(),
        one(4, "sslEnabled", Bool),
        one(5, "protectionDomain", Str),
        one(6, "storagePool", Str),
        one(7, "storageMode", Str),
        one(8, "volumeName", Str),
        one(9, "fsType", Str),
        one(10, "readOnly", Bool),
    ],
};

pub static STORAGE_OS_VOLUME_SOURCE: Message = Message {
    name: "StorageOSVolumeSource",
    fields: &[
        one(1, "volumeName", Str),
        one(2, "volumeNamespace", Str),
        one(3, "fsType", Str),
        one(4, "readOnly", Bool),
        one(5, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)).ptr(),
    ],
};

pub static CSI_VOLUME_SOURCE: Message = Message {
    name: "CSIVolumeSource",
    fields: &[
        one(1, "driver", Str).req(),
        one(2, "readOnly", Bool).ptr(),
        one(3, "fsType", Str).ptr(),
        map(4, "volumeAttributes", Str),
        one(5, "nodePublishSecretRef", Msg(&LOCAL_OBJECT_REFERENCE)).ptr(),
    ],
};

pub static VOLUME_RESOURCE_REQUIREMENTS: Message = Message {
    name: "VolumeResourceRequirements",
    fields: &[map(1, "limits", Qty), map(2, "requests", Qty)],
};

pub static TYPED_LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "TypedLocalObjectReference",
    fields: &[
        one(1, "apiGroup", Str).nullable(),
        one(2, "kind", Str).req(),
        one(3, "name", Str).req(),
    ],
};

pub static TYPED_OBJECT_REFERENCE: Message = Message {
    name: "TypedObjectReference",
    fields: &[
        one(1, "apiGroup", Str).nullable(),
        one(2, "kind", Str).req(),
        one(3, "name", Str).req(),
        one(4, "namespace", Str).ptr(),
    ],
};

pub static PERSISTENT_VOLUME_CLAIM_SPEC: Message = Message {
    name: "PersistentVolumeClaimSpec",
    fields: &[
        list(1, "accessModes", Str),
        one(4, "selector", Msg(&LABEL_SELECTOR)).ptr(),
        one(2, "resources", Msg(&VOLUME_RESOURCE_REQUIREMENTS)).req(),
        one(3, "volumeName", Str),
        one(5, "storageClassName", Str).ptr(),
        one(6, "volumeMode", Str).ptr(),
        one(7, "dataSource", Msg(&TYPED_LOCAL_OBJECT_REFERENCE)).ptr(),
        one(8, "dataSourceRef", Msg(&TYPED_OBJECT_REFERENCE)).ptr(),
        one(9, "volumeAttributesClassName", Str).ptr(),
    ],
};

pub static PERSISTENT_VOLUME_CLAIM_TEMPLATE: Message = Message {
    name: "PersistentVolumeClaimTemplate",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&PERSISTENT_VOLUME_CLAIM_SPEC)).req(),
    ],
};

pub static EPHEMERAL_VOLUME_SOURCE: Message = Message {
    name: "EphemeralVolumeSource",
    fields: &[one(1, "volumeClaimTemplate", Msg(&PERSISTENT_VOLUME_CLAIM_TEMPLATE)).ptr()],
};

pub static IMAGE_VOLUME_SOURCE: Message = Message {
    name: "ImageVolumeSource",
    fields: &[one(1, "reference", Str), one(2, "pullPolicy", Str)],
};

pub static VOLUME_SOURCE: Message = Message {
    name: "VolumeSource",
    fields: &[
        one(1, "hostPath", Msg(&HOST_PATH_VOLUME_SOURCE)).ptr(),
        one(2, "emptyDir", Msg(&EMPTY_DIR_VOLUME_SOURCE)).ptr(),
        one(3, "gcePersistentDisk", Msg(&GCE_PERSISTENT_DISK_VOLUME_SOURCE)).ptr(),
        one(4, "awsElasticBlockStore", Msg(&AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE)).ptr(),
        one(5, "gitRepo", Msg(&GIT_REPO_VOLUME_SOURCE)).ptr(),
        one(6, "secret", Msg(&SECRET_VOLUME_SOURCE)).ptr(),
        one(7, "nfs", Msg(&NFS_VOLUME_SOURCE)).ptr(),
        one(8, "iscsi", Msg(&ISCSI_VOLUME_SOURCE)).ptr(),
        one(9, "glusterfs", Msg(&GLUSTERFS_VOLUME_SOURCE)).ptr(),
        one(10, "persistentVolumeClaim", Msg(&PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE)).ptr(),
        one(11, "rbd", Msg(&RBD_VOLUME_SOURCE)).ptr(),
        one(12, "flexVolume", Msg(&FLEX_VOLUME_SOURCE)).ptr(),
        one(13, "cinder", Msg(&CINDER_VOLUME_SOURCE)).ptr(),
        one(14, "cephfs", Msg(&CEPH_FS_VOLUME_SOURCE)).ptr(),
        one(15, "flocker", Msg(&FLOCKER_VOLUME_SOURCE)).ptr(),
        one(16, "downwardAPI", Msg(&DOWNWARD_API_VOLUME_SOURCE)).ptr(),
        one(17, "fc", Msg(&FC_VOLUME_SOURCE)).ptr(),
        one(18, "azureFile", Msg(&AZURE_FILE_VOLUME_SOURCE)).ptr(),
        one(19, "configMap", Msg(&CONFIG_MAP_VOLUME_SOURCE)).ptr(),
        one(20, "vsphereVolume", Msg(&VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE)).ptr(),
        one(21, "quobyte", Msg(&QUOBYTE_VOLUME_SOURCE)).ptr(),
        one(22, "azureDisk", Msg(&AZURE_DISK_VOLUME_SOURCE)).ptr(),
        one(23, "photonPersistentDisk", Msg(&PHOTON_PERSISTENT_DISK_VOLUME_SOURCE)).ptr(),
        one(26, "projected", Msg(&PROJECTED_VOLUME_SOURCE)).ptr(),
        one(24, "portworxVolume", Msg(&PORTWORX_VOLUME_SOURCE)).ptr(),
        one(25, "scaleIO", Msg(&SCALE_IO_VOLUME_SOURCE)).ptr(),
        one(27, "storageos", Msg(&STORAGE_OS_VOLUME_SOURCE)).ptr(),
        one(28, "csi", Msg(&CSI_VOLUME_SOURCE)).ptr(),
        one(29, "ephemeral", Msg(&EPHEMERAL_VOLUME_SOURCE)).ptr(),
        one(30, "image", Msg(&IMAGE_VOLUME_SOURCE)).ptr(),
    ],
};

pub static VOLUME: Message = Message {
    name: "Volume",
    fields: &[one(1, "name", Str).req(), one(2, "", Msg(&VOLUME_SOURCE)).inline()],
};

pub static CONTAINER_PORT: Message = Message {
    name: "ContainerPort",
    fields: &[
        one(1, "name", Str),
        one(2, "hostPort", I32),
        one(3, "containerPort", I32).req(),
        one(4, "protocol", Str),
        one(5, "hostIP", Str),
    ],
};

pub static CONFIG_MAP_ENV_SOURCE: Message = Message {
    name: "ConfigMapEnvSource",
    fields: &[one(1, "", Msg(&LOCAL_OBJECT_REFERENCE)).inline(), one(2, "optional", Bool).ptr()],
};

pub static SECRET_ENV_SOURCE: Message = Message {
    name: "SecretEnvSource",
    fields: &[one(1, "", Msg(&LOCAL_OBJECT_REFERENCE)).inline(), one(2, "optional", Bool).ptr()],
};

pub static ENV_FROM_SOURCE: Message = Message {
    name: "EnvFromSource",
    fields: &[
        one(1, "prefix", Str),
        one(2, "configMapRef", Msg(&CONFIG_MAP_ENV_SOURCE)).ptr(),
        one(3, "secretRef", Msg(&SECRET_ENV_SOURCE)).ptr(),
    ],
};

pub static CONFIG_MAP_KEY_SELECTOR: Message = Message {
    name: "ConfigMapKeySelector",
    fields: &[
        one(1, "", Msg(&LOCAL_OBJECT_REFERENCE)).inline(),
        one(2, "key", Str).req(),
        one(3, "optional", Bool).ptr(),
    ],
};

pub static SECRET_KEY_SELECTOR: Message = Message {
    name: "SecretKeySelector",
    fields: &[
        one(1, "", Msg(&LOCAL_OBJECT_REFERENCE)).inline(),
        one(2, "key", Str).req(),
        one(3, "optional", Bool).ptr(),
    ],
};

pub static FILE_KEY_SELECTOR: Message = Message {
    name: "FileKeySelector",
    fields: &[
        one(1, "volumeName", Str).req(),
        one(2, "path", Str).req(),
        one(3, "key", Str).req(),
        one(4, "optional", Bool).ptr(),
    ],
};

pub static ENV_VAR_SOURCE: Message = Message {
    name: "EnvVarSource",
    fields: &[
        one(1, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR)).ptr(),
        one(2, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR)).ptr(),
        one(3, "configMapKeyRef", Msg(&CONFIG_MAP_KEY_SELECTOR)).ptr(),
        one(4, "secretKeyRef", Msg(&SECRET_KEY_SELECTOR)).ptr(),
        one(5, "fileKeyRef", Msg(&FILE_KEY_SELECTOR)).ptr(),
    ],
};

pub static ENV_VAR: Message = Message {
    name: "EnvVar",
    fields: &[
        one(1, "name", Str).req(),
        one(2, "value", Str),
        one(3, "valueFrom", Msg(&ENV_VAR_SOURCE)).ptr(),
    ],
};

pub static RESOURCE_CLAIM: Message =
    Message { name: "ResourceClaim", fields: &[one(1, "name", Str).req(), one(2, "request", Str)] };

pub static RESOURCE_REQUIREMENTS: Message = Message {
    name: "ResourceRequirements",
    fields: &[
        map(1, "limits", Qty),
        map(2, "requests", Qty),
        list(3, "claims", Msg(&RESOURCE_CLAIM)),
    ],
};

pub static CONTAINER_RESIZE_POLICY: Message = Message {
    name: "ContainerResizePolicy",
    fields: &[one(1, "resourceName", Str).req(), one(2, "restartPolicy", Str).req()],
};

pub static CONTAINER_RESTART_RULE_ON_EXIT_CODES: Message = Message {
    name: "ContainerRestartRuleOnExitCodes",
    fields: &[one(1, "operator", Str), list(2, "values", I32)],
};

pub static CONTAINER_RESTART_RULE: Message = Message {
    name: "ContainerRestartRule",
    fields: &[
        one(1, "action", Str),
        one(2, "exitCodes", Msg(&CONTAINER_RESTART_RULE_ON_EXIT_CODES)).ptr(),
    ],
};

pub static VOLUME_MOUNT: Message = Message {
    name: "VolumeMount",
    fields: &[
        one(1, "name", Str).req(),
        one(2, "readOnly", Bool),
        one(7, "recursiveReadOnly", Str).ptr(),
        one(3, "mountPath", Str).req(),
        one(4, "subPath", Str),
        one(5, "mountPropagation", Str).ptr(),
        one(6, "subPathExpr", Str),
    ],
};

pub static VOLUME_DEVICE: Message = Message {
    name: "VolumeDevice",
    fields: &[one(1, "name", Str).req(), one(2, "devicePath", Str).req()],
};

pub static EXEC_ACTION: Message =
    Message { name: "ExecAction", fields: &[list(1, "command", Str)] };

pub static HTTP_HEADER: Message = Message {
    name: "HTTPHeader",
    fields: &[one(1, "name", Str).req(), one(2, "value", Str).req()],
};

pub static HTTP_GET_ACTION: Message = Message {
    name: "HTTPGetAction",
    fields: &[
        one(1, "path", Str),
        one(2, "port", IntOrStr).req(),
        one(3, "host", Str),
        one(4, "scheme", Str),
        list(5, "httpHeaders", Msg(&HTTP_HEADER)),
    ],
};

pub static TCP_SOCKET_ACTION: Message = Message {
    name: "TCPSocketAction",
    fields: &[one(1, "port", IntOrStr).req(), one(2, "host", Str)],
};

pub static GRPC_ACTION: Message = Message {
    name: "GRPCAction",
    fields: &[one(1, "port", I32).req(), one(2, "service", Str).nullable()],
};

pub static PROBE_HANDLER: Message = Message {
    name: "ProbeHandler",
    fields: &[
        one(1, "exec", Msg(&EXEC_ACTION)).ptr(),
        one(2, "httpGet", Msg(&HTTP_GET_ACTION)).ptr(),
        one(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION)).ptr(),
        one(4, "grpc", Msg(&GRPC_ACTION)).ptr(),
    ],
};

pub static PROBE: Message = Message {
    name: "Probe",
    fields: &[
        one(1, "", Msg(&PROBE_HANDLER)).inline(),
        one(2, "initialDelaySeconds", I32),
        one(3, "timeoutSeconds", I32),
        one(4, "periodSeconds", I32),
        one(5, "successThreshold", I32),
        one(6, "failureThreshold", I32),
        one(7, "terminationGracePeriodSeconds", I64).ptr(),
    ],
};

pub static SLEEP_ACTION: Message =
    Message { name: "SleepAction", fields: &[one(1, "seconds", I64).req()] };

pub static LIFECYCLE_HANDLER: Message = Message {
    name: "LifecycleHandler",
    fields: &[
        one(1, "exec", Msg(&EXEC_ACTION)).ptr(),
        one(2, "httpGet", Msg(&HTTP_GET_ACTION)).ptr(),
        one(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION)).ptr(),
        one(4, "sleep", Msg(&SLEEP_ACTION)).ptr(),
    ],
};

pub static LIFECYCLE: Message = Message {
    name: "Lifecycle",
    fields: &[
        one(1, "postStart", Msg(&LIFECYCLE_HANDLER)).ptr(),
        one(2, "preStop", Msg(&LIFECYCLE_HANDLER)).ptr(),
        one(3, "stopSignal", Str).ptr(),
    ],
};

pub static CAPABILITIES: Message =
    Message { name: "Capabilities", fields: &[list(1, "add", Str), list(2, "drop", Str)] };

pub static SE_LINUX_OPTIONS: Message = Message {
    name: "SELinuxOptions",
    fields: &[one(1, "user", Str), one(2, "role", Str), one(3, "type", Str), one(4, "level", Str)],
};

pub static WINDOWS_SECURITY_CONTEXT_OPTIONS: Message = Message {
    name: "WindowsSecurityContextOptions",
    fields: &[
        one(1, "gmsaCredentialSpecName", Str).ptr(),
        one(2, "gmsaCredentialSpec", Str).ptr(),
        one(3, "runAsUserName", Str).ptr(),
        one(4, "hostProcess", Bool).ptr(),
    ],
};

pub static SECCOMP_PROFILE: Message = Message {
    name: "SeccompProfile",
    fields: &[one(1, "type", Str).req(), one(2, "localhostProfile", Str).ptr()],
};

pub static APP_ARMOR_PROFILE: Message = Message {
    name: "AppArmorProfile",
    fields: &[one(1, "type", Str).req(), one(2, "localhostProfile", Str).ptr()],
};

pub static SECURITY_CONTEXT: Message = Message {
    name: "SecurityContext",
    fields: &[
        one(1, "capabilities", Msg(&CAPABILITIES)).ptr(),
        one(2, "privileged", Bool).ptr(),
        one(3, "seLinuxOptions", Msg(&SE_LINUX_OPTIONS)).ptr(),
        one(10, "windowsOptions", Msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS)).ptr(),
        one(4, "runAsUser", I64).ptr(),
        one(8, "runAsGroup", I64).ptr(),
        one(5, "runAsNonRoot", Bool).ptr(),
        one(6, "readOnlyRootFilesystem", Bool).ptr(),
        one(7, "allowPrivilegeEscalation", Bool).ptr(),
        one(9, "procMount", Str).ptr(),
        one(11, "seccompProfile", Msg(&SECCOMP_PROFILE)).ptr(),
        one(12, "appArmorProfile", Msg(&APP_ARMOR_PROFILE)).ptr(),
    ],
};

pub static CONTAINER: Message = Message {
    name: "Container",
    fields: &[
        one(1, "name", Str).req(),
        one(2, "image", Str),
        list(3, "command", Str),
        list(4, "args", Str),
        one(5, "workingDir", Str),
        list(6, "ports", Msg(&CONTAINER_PORT)),
        list(19, "envFrom", Msg(&ENV_FROM_SOURCE)),
        list(7, "env", Msg(&ENV_VAR)),
        one(8, "resources", Msg(&RESOURCE_REQUIREMENTS)).req(),
        list(23, "resizePolicy", Msg(&CONTAINER_RESIZE_POLICY)),
        one(24, "restartPolicy", Str).ptr(),
        list(25, "restartPolicyRules", Msg(&CONTAINER_RESTART_RULE)),
        list(9, "volumeMounts", Msg(&VOLUME_MOUNT)),
        list(21, "volumeDevices", Msg(&VOLUME_DEVICE)),
        one(10, "livenessProbe", Msg(&PROBE)).ptr(),
        one(11, "readinessProbe", Msg(&PROBE)).ptr(),
        one(22, "startupProbe", Msg(&PROBE)).ptr(),
        one(12, "lifecycle", Msg(&LIFECYCLE)).ptr(),
        one(13, "terminationMessagePath", Str),
        one(20, "terminationMessagePolicy", Str),
        one(14, "imagePullPolicy", Str),
        one(15, "securityContext", Msg(&SECURITY_CONTEXT)).ptr(),
        one(16, "stdin", Bool),
        one(17, "stdinOnce", Bool),
        one(18, "tty", Bool),
    ],
};

pub static EPHEMERAL_CONTAINER_COMMON: Message = Message {
    name: "EphemeralContainerCommon",
    fields: &[
        one(1, "name", Str).req(),
        one(2, "image", Str),
        list(3, "command", Str),
        list(4, "args", Str),
        one(5, "workingDir", Str),
        list(6, "ports", Msg(&CONTAINER_PORT)),
        list(19, "envFrom", Msg(&ENV_FROM_SOURCE)),
        list(7, "env", Msg(&ENV_VAR)),
        one(8, "resources", Msg(&RESOURCE_REQUIREMENTS)).req(),
        list(23, "resizePolicy", Msg(&CONTAINER_RESIZE_POLICY)),
        one(24, "restartPolicy", Str).ptr(),
        list(25, "restartPolicyRules", Msg(&CONTAINER_RESTART_RULE)),
        list(9, "volumeMounts", Msg(&VOLUME_MOUNT)),
        list(21, "volumeDevices", Msg(&VOLUME_DEVICE)),
        one(10, "livenessProbe", Msg(&PROBE)).ptr(),
        one(11, "readinessProbe", Msg(&PROBE)).ptr(),
        one(22, "startupProbe", Msg(&PROBE)).ptr(),
        one(12, "lifecycle", Msg(&LIFECYCLE)).ptr(),
        one(13, "terminationMessagePath", Str),
        one(20, "terminationMessagePolicy", Str),
        one(14, "imagePullPolicy", Str),
        one(15, "securityContext", Msg(&SECURITY_CONTEXT)).ptr(),
        one(16, "stdin", Bool),
        one(17, "stdinOnce", Bool),
        one(18, "tty", Bool),
    ],
};

pub static EPHEMERAL_CONTAINER: Message = Message {
    name: "EphemeralContainer",
    fields: &[
        one(1, "", Msg(&EPHEMERAL_CONTAINER_COMMON)).inline(),
        one(2, "targetContainerName", Str),
    ],
};

pub static SYSCTL: Message =
    Message { name: "Sysctl", fields: &[one(1, "name", Str).req(), one(2, "value", Str).req()] };

pub static POD_SECURITY_CONTEXT: Message = Message {
    name: "PodSecurityContext",
    fields: &[
        one(1, "seLinuxOptions", Msg(&SE_LINUX_OPTIONS)).ptr(),
        one(8, "windowsOptions", Msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS)).ptr(),
        one(2, "runAsUser", I64).ptr(),
        one(6, "runAsGroup", I64).ptr(),
        one(3, "runAsNonRoot", Bool).ptr(),
        list(4, "supplementalGroups", I64),
        one(12, "supplementalGroupsPolicy", Str).ptr(),
        one(5, "fsGroup", I64).ptr(),
        list(7, "sysctls", Msg(&SYSCTL)),
        one(9, "fsGroupChangePolicy", Str).ptr(),
        one(10, "seccompProfile", Msg(&SECCOMP_PROFILE)).ptr(),
        one(11, "appArmorProfile", Msg(&APP_ARMOR_PROFILE)).ptr(),
        one(13, "seLinuxChangePolicy", Str).ptr(),
    ],
};

pub static NODE_SELECTOR_REQUIREMENT: Message = Message {
    name: "NodeSelectorRequirement",
    fields: &[one(1, "key", Str).req(), one(2, "operator", Str).req(), list(3, "values", Str)],
};

pub static NODE_SELECTOR_TERM: Message = Message {
    name: "NodeSelectorTerm",
    fields: &[
        list(1, "matchExpressions", Msg(&NODE_SELECTOR_REQUIREMENT)),
        list(2, "matchFields", Msg(&NODE_SELECTOR_REQUIREMENT)),
    ],
};

pub static NODE_SELECTOR: Message = Message {
    name: "NodeSelector",
    fields: &[list(1, "nodeSelectorTerms", Msg(&NODE_SELECTOR_TERM)).nullable()],
};

pub static PREFERRED_SCHEDULING_TERM: Message = Message {
    name: "PreferredSchedulingTerm",
    fields: &[one(1, "weight", I32).req(), one(2, "preference", Msg(&NODE_SELECTOR_TERM)).req()],
};

pub static NODE_AFFINITY: Message = Message {
    name: "NodeAffinity",
    fields: &[
        one(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&NODE_SELECTOR)).ptr(),
        list(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&PREFERRED_SCHEDULING_TERM)),
    ],
};

pub static POD_AFFINITY_TERM: Message = Message {
    name: "PodAffinityTerm",
    fields: &[
        one(1, "labelSelector", Msg(&LABEL_SELECTOR)).ptr(),
        list(2, "namespaces", Str),
        one(3, "topologyKey", Str).req(),
        one(4, "namespaceSelector", Msg(&LABEL_SELECTOR)).ptr(),
        list(5, "matchLabelKeys", Str),
        list(6, "mismatchLabelKeys", Str),
    ],
};

pub static WEIGHTED_POD_AFFINITY_TERM: Message = Message {
    name: "WeightedPodAffinityTerm",
    fields: &[
        one(1, "weight", I32).req(),
        one(2, "podAffinityTerm", Msg(&POD_AFFINITY_TERM)).req(),
    ],
};

pub static POD_AFFINITY: Message = Message {
    name: "PodAffinity",
    fields: &[
        list(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&POD_AFFINITY_TERM)),
        list(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Msg(&WEIGHTED_POD_AFFINITY_TERM),
        ),
    ],
};

pub static POD_ANTI_AFFINITY: Message = Message {
    name: "PodAntiAffinity",
    fields: &[
        list(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&POD_AFFINITY_TERM)),
        list(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Msg(&WEIGHTED_POD_AFFINITY_TERM),
        ),
    ],
};

pub static AFFINITY: Message = Message {
    name: "Affinity",
    fields: &[
        one(1, "nodeAffinity", Msg(&NODE_AFFINITY)).ptr(),
        one(2, "podAffinity", Msg(&POD_AFFINITY)).ptr(),
        one(3, "podAntiAffinity", Msg(&POD_ANTI_AFFINITY)).ptr(),
    ],
};

pub static TOLERATION: Message = Message {
    name: "Toleration",
    fields: &[
        one(1, "key", Str),
        one(2, "operator", Str),
        one(3, "value", Str),
        one(4, "effect", Str),
        one(5, "tolerationSeconds", I64).ptr(),
    ],
};

pub static HOST_ALIAS: Message =
    Message { name: "HostAlias", fields: &[one(1, "ip", Str).req(), list(2, "hostnames", Str)] };

pub static POD_DNS_CONFIG_OPTION: Message = Message {
    name: "PodDNSConfigOption",
    fields: &[one(1, "name", Str), one(2, "value", Str).ptr()],
};

pub static POD_DNS_CONFIG: Message = Message {
    name: "PodDNSConfig",
    fields: &[
        list(1, "nameservers", Str),
        list(2, "searches", Str),
        list(3, "options", Msg(&POD_DNS_CONFIG_OPTION)),
    ],
};

pub static POD_READINESS_GATE: Message =
    Message { name: "PodReadinessGate", fields: &[one(1, "conditionType", Str).req()] };

pub static TOPOLOGY_SPREAD_CONSTRAINT: Message = Message {
    name: "TopologySpreadConstraint",
    fields: &[
        one(1, "maxSkew", I32).req(),
        one(2, "topologyKey", Str).req(),
        one(3, "whenUnsatisfiable", Str).req(),
        one(4, "labelSelector", Msg(&LABEL_SELECTOR)).ptr(),
        one(5, "minDomains", I32).ptr(),
        one(6, "nodeAffinityPolicy", Str).ptr(),
        one(7, "nodeTaintsPolicy", Str).ptr(),
        list(8, "matchLabelKeys", Str),
    ],
};

pub static POD_OS: Message = Message { name: "PodOS", fields: &[one(1, "name", Str).req()] };

pub static POD_SCHEDULING_GATE: Message =
    Message { name: "PodSchedulingGate", fields: &[one(1, "name", Str).req()] };

pub static POD_RESOURCE_CLAIM: Message = Message {
    name: "PodResourceClaim",
    fields: &[
        one(1, "name", Str).req(),
        one(3, "resourceClaimName", Str).ptr(),
        one(4, "resourceClaimTemplateName", Str).ptr(),
    ],
};

pub static WORKLOAD_REFERENCE: Message = Message {
    name: "WorkloadReference",
    fields: &[
        one(1, "name", Str).req(),
        one(2, "podGroup", Str).req(),
        one(3, "podGroupReplicaKey", Str),
    ],
};

pub static POD_SPEC: Message = Message {
    name: "PodSpec",
    fields: &[
        list(1, "volumes", Msg(&VOLUME)),
        list(20, "initContainers", Msg(&CONTAINER)),
        list(2, "containers", Msg(&CONTAINER)).nullable(),
        list(34, "ephemeralContainers", Msg(&EPHEMERAL_CONTAINER)),
        one(3, "restartPolicy", Str),
        one(4, "terminationGracePeriodSeconds", I64).ptr(),
        one(5, "activeDeadlineSeconds", I64).ptr(),
        one(6, "dnsPolicy", Str),
        map(7, "nodeSelector", Str),
        one(8, "serviceAccountName", Str),
        one(9, "serviceAccount", Str),
        one(21, "automountServiceAccountToken", Bool).ptr(),
        one(10, "nodeName", Str),
        one(11, "hostNetwork", Bool),
        one(12, "hostPID", Bool),
        one(13, "hostIPC", Bool),
        one(27, "shareProcessNamespace", Bool).ptr(),
        one(14, "securityContext", Msg(&POD_SECURITY_CONTEXT)).ptr(),
        list(15, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE)),
        one(16, "hostname", Str),
        one(17, "subdomain", Str),
        one(18, "affinity", Msg(&AFFINITY)).ptr(),
        one(19, "schedulerName", Str),
        list(22, "tolerations", Msg(&TOLERATION)),
        list(23, "hostAliases", Msg(&HOST_ALIAS)),
        one(24, "priorityClassName", Str),
        one(25, "priority", I32).ptr(),
        one(26, "dnsConfig", Msg(&POD_DNS_CONFIG)).ptr(),
        list(28, "readinessGates", Msg(&POD_READINESS_GATE)),
        one(29, "runtimeClassName", Str).ptr(),
        one(30, "enableServiceLinks", Bool).ptr(),
        one(31, "preemptionPolicy", Str).ptr(),
        map(32, "overhead", Qty),
        list(33, "topologySpreadConstraints", Msg(&TOPOLOGY_SPREAD_CONSTRAINT)),
        one(35, "setHostnameAsFQDN", Bool).ptr(),
        one(36, "os", Msg(&POD_OS)).ptr(),
        one(37, "hostUsers", Bool).ptr(),
        list(38, "schedulingGates", Msg(&POD_SCHEDULING_GATE)),
        list(39, "resourceClaims", Msg(&POD_RESOURCE_CLAIM)),
        one(40, "resources", Msg(&RESOURCE_REQUIREMENTS)).ptr(),
        one(41, "hostnameOverride", Str).ptr(),
        one(42, "workloadRef", Msg(&WORKLOAD_REFERENCE)).ptr(),
    ],
};

pub static POD_CONDITION: Message = Message {
    name: "PodCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(7, "observedGeneration", I64),
        one(2, "status", Str).req(),
        one(3, "lastProbeTime", Time).req(),
        one(4, "lastTransitionTime", Time).req(),
        one(5, "reason", Str),
        one(6, "message", Str),
    ],
};

pub static HOST_IP: Message = Message { name: "HostIP", fields: &[one(1, "ip", Str).req()] };

pub static POD_IP: Message = Message { name: "PodIP", fields: &[one(1, "ip", Str).req()] };

pub static CONTAINER_STATE_WAITING: Message = Message {
    name: "ContainerStateWaiting",
    fields: &[one(1, "reason", Str), one(2, "message", Str)],
};

pub static CONTAINER_STATE_RUNNING: Message =
    Message { name: "ContainerStateRunning", fields: &[one(1, "startedAt", Time).req()] };

pub static CONTAINER_STATE_TERMINATED: Message = Message {
    name: "ContainerStateTerminated",
    fields: &[
        one(1, "exitCode", I32).req(),
        one(2, "signal", I32),
        one(3, "reason", Str),
        one(4, "message", Str),
        one(5, "startedAt", Time).req(),
        one(6, "finishedAt", Time).req(),
        one(7, "containerID", Str),
    ],
};

pub static CONTAINER_STATE: Message = Message {
    name: "ContainerState",
    fields: &[
        one(1, "waiting", Msg(&CONTAINER_STATE_WAITING)).ptr(),
        one(2, "running", Msg(&CONTAINER_STATE_RUNNING)).ptr(),
        one(3, "terminated", Msg(&CONTAINER_STATE_TERMINATED)).ptr(),
    ],
};

pub static VOLUME_MOUNT_STATUS: Message = Message {
    name: "VolumeMountStatus",
    fields: &[
        one(1, "name", Str).req(),
        one(2, "mountPath", Str).req(),
        one(3, "readOnly", Bool),
        one(4, "recursiveReadOnly", Str).ptr(),
    ],
};

pub static LINUX_CONTAINER_USER: Message = Message {
    name: "LinuxContainerUser",
    fields: &[
        one(1, "uid", I64).req(),
        one(2, "gid", I64).req(),
        list(3, "supplementalGroups", I64),
    ],
};

pub static CONTAINER_USER: Message =
    Message { name: "ContainerUser", fields: &[one(1, "linux", Msg(&LINUX_CONTAINER_USER)).ptr()] };

pub static RESOURCE_HEALTH: Message = Message {
    name: "ResourceHealth",
    fields: &[one(1, "resourceID", Str).req(), one(2, "health", Str)],
};

pub static RESOURCE_STATUS: Message = Message {
    name: "ResourceStatus",
    fields: &[one(1, "name", Str).req(), list(2, "resources", Msg(&RESOURCE_HEALTH))],
};

pub static CONTAINER_STATUS: Message = Message {
    name: "ContainerStatus",
    fields: &[
        one(1, "name", Str).req(),
        one(2, "state", Msg(&CONTAINER_STATE)).req(),
        one(3, "lastState", Msg(&CONTAINER_STATE)).req(),
        one(4, "ready", Bool).req(),
        one(5, "restartCount", I32).req(),
        one(6, "image", Str).req(),
        one(7, "imageID", Str).req(),
        one(8, "containerID", Str),
        one(9, "started", Bool).ptr(),
        map(10, "allocatedResources", Qty),
        one(11, "resources", Msg(&RESOURCE_REQUIREMENTS)).ptr(),
        list(12, "volumeMounts", Msg(&VOLUME_MOUNT_STATUS)),
        one(13, "user", Msg(&CONTAINER_USER)).ptr(),
        list(14, "allocatedResourcesStatus", Msg(&RESOURCE_STATUS)),
        one(15, "stopSignal", Str).ptr(),
    ],
};

pub static POD_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "PodResourceClaimStatus",
    fields: &[one(1, "name", Str).req(), one(2, "resourceClaimName", Str).ptr()],
};

pub static CONTAINER_EXTENDED_RESOURCE_REQUEST: Message = Message {
    name: "ContainerExtendedResourceRequest",
    fields: &[
        one(1, "containerName", Str).req(),
        one(2, "resourceName", Str).req(),
        one(3, "requestName", Str).req(),
    ],
};

pub static POD_EXTENDED_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "PodExtendedResourceClaimStatus",
    fields: &[
        list(1, "requestMappings", Msg(&CONTAINER_EXTENDED_RESOURCE_REQUEST)).nullable(),
        one(2, "resourceClaimName", Str).req(),
    ],
};

pub static POD_STATUS: Message = Message {
    name: "PodStatus",
    fields: &[
        one(17, "observedGeneration", I64),
        one(1, "phase", Str),
        list(2, "conditions", Msg(&POD_CONDITION)),
        one(3, "message", Str),
        one(4, "reason", Str),
        one(11, "nominatedNodeName", Str),
        one(5, "hostIP", Str),
        list(16, "hostIPs", Msg(&HOST_IP)),
        one(6, "podIP", Str),
        list(12, "podIPs", Msg(&POD_IP)),
        one(7, "startTime", Time).ptr(),
        list(10, "initContainerStatuses", Msg(&CONTAINER_STATUS)),
        list(8, "containerStatuses", Msg(&CONTAINER_STATUS)),
        one(9, "qosClass", Str),
        list(13, "ephemeralContainerStatuses", Msg(&CONTAINER_STATUS)),
        one(14, "resize", Str),
        list(15, "resourceClaimStatuses", Msg(&POD_RESOURCE_CLAIM_STATUS)),
        one(18, "extendedResourceClaimStatus", Msg(&POD_EXTENDED_RESOURCE_CLAIM_STATUS)).ptr(),
        map(19, "allocatedResources", Qty),
        one(20, "resources", Msg(&RESOURCE_REQUIREMENTS)).ptr(),
    ],
};

pub static POD: Message = Message {
    name: "Pod",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&POD_SPEC)).req(),
        one(3, "status", Msg(&POD_STATUS)).req(),
    ],
};

// ---- core/v1 Service and what it alone needs ----

pub static SERVICE_PORT: Message = Message {
    name: "ServicePort",
    fields: &[
        one(1, "name", Str),
        one(2, "protocol", Str),
        one(6, "appProtocol", Str).ptr(),
        one(3, "port", I32).req(),
        one(4, "targetPort", IntOrStr).req(),
        one(5, "nodePort", I32),
    ],
};

pub static CLIENT_IP_CONFIG: Message =
    Message { name: "ClientIPConfig", fields: &[one(1, "timeoutSeconds", I32).ptr()] };

pub static SESSION_AFFINITY_CONFIG: Message = Message {
    name: "SessionAffinityConfig",
    fields: &[one(1, "clientIP", Msg(&CLIENT_IP_CONFIG)).ptr()],
};

pub static SERVICE_SPEC: Message = Message {
    name: "ServiceSpec",
    fields: &[
        list(1, "ports", Msg(&SERVICE_PORT)),
        map(2, "selector", Str),
        one(3, "clusterIP", Str),
        list(18, "clusterIPs", Str),
        one(4, "type", Str),
        list(5, "externalIPs", Str),
        one(7, "sessionAffinity", Str),
        one(8, "loadBalancerIP", Str),
        list(9, "loadBalancerSourceRanges", Str),
        one(10, "externalName", Str),
        one(11, "externalTrafficPolicy", Str),
        one(12, "healthCheckNodePort", I32),
        one(13, "publishNotReadyAddresses", Bool),
        one(14, "sessionAffinityConfig", Msg(&SESSION_AFFINITY_CONFIG)).ptr(),
        list(19, "ipFamilies", Str),
        one(17, "ipFamilyPolicy", Str).ptr(),
        one(20, "allocateLoadBalancerNodePorts", Bool).ptr(),
        one(21, "loadBalancerClass", Str).ptr(),
        one(22, "internalTrafficPolicy", Str).ptr(),
        one(23, "trafficDistribution", Str).ptr(),
    ],
};

pub static PORT_STATUS: Message = Message {
    name: "PortStatus",
    fields: &[one(1, "port", I32).req(), one(2, "protocol", Str).req(), one(3, "error", Str).ptr()],
};

pub static LOAD_BALANCER_INGRESS: Message = Message {
    name: "LoadBalancerIngress",
    fields: &[
        one(1, "ip", Str),
        one(2, "hostname", Str),
        one(3, "ipMode", Str).ptr(),
        list(4, "ports", Msg(&PORT_STATUS)),
    ],
};

pub static LOAD_BALANCER_STATUS: Message = Message {
    name: "LoadBalancerStatus",
    fields: &[list(1, "ingress", Msg(&LOAD_BALANCER_INGRESS))],
};

pub static CONDITION: Message = Message {
    name: "Condition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(3, "observedGeneration", I64),
        one(4, "lastTransitionTime", Time).req(),
        one(5, "reason", Str).req(),
        one(6, "message", Str).req(),
    ],
};

pub static SERVICE_STATUS: Message = Message {
    name: "ServiceStatus",
    fields: &[
        one(1, "loadBalancer", Msg(&LOAD_BALANCER_STATUS)).req(),
        list(2, "conditions", Msg(&CONDITION)),
    ],
};

pub static SERVICE: Message = Message {
    name: "Service",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&SERVICE_SPEC)).req(),
        one(3, "status", Msg(&SERVICE_STATUS)).req(),
    ],
};

// ---- apps/v1 Deployment and what it alone needs ----

pub static POD_TEMPLATE_SPEC: Message = Message {
    name: "PodTemplateSpec",
    fields: &[one(1, "metadata", Msg(&OBJECT_META)).req(), one(2, "spec", Msg(&POD_SPEC)).req()],
};

pub static ROLLING_UPDATE_DEPLOYMENT: Message = Message {
    name: "RollingUpdateDeployment",
    fields: &[one(1, "maxUnavailable", IntOrStr).ptr(), one(2, "maxSurge", IntOrStr).ptr()],
};

pub static DEPLOYMENT_STRATEGY: Message = Message {
    name: "DeploymentStrategy",
    fields: &[one(1, "type", Str), one(2, "rollingUpdate", Msg(&ROLLING_UPDATE_DEPLOYMENT)).ptr()],
};

pub static DEPLOYMENT_SPEC: Message = Message {
    name: "DeploymentSpec",
    fields: &[
        one(1, "replicas", I32).ptr(),
        one(2, "selector", Msg(&LABEL_SELECTOR)).nullable(),
        one(3, "template", Msg(&POD_TEMPLATE_SPEC)).req(),
        one(4, "strategy", Msg(&DEPLOYMENT_STRATEGY)).req(),
        one(5, "minReadySeconds", I32),
        one(6, "revisionHistoryLimit", I32).ptr(),
        one(7, "paused", Bool),
        one(9, "progressDeadlineSeconds", I32).ptr(),
    ],
};

pub static DEPLOYMENT_CONDITION: Message = Message {
    name: "DeploymentCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(6, "lastUpdateTime", Time).req(),
        one(7, "lastTransitionTime", Time).req(),
        one(4, "reason", Str),
        one(5, "message", Str),
    ],
};

pub static DEPLOYMENT_STATUS: Message = Message {
    name: "DeploymentStatus",
    fields: &[
        one(1, "observedGeneration", I64),
        one(2, "replicas", I32),
        one(3, "updatedReplicas", I32),
        one(7, "readyReplicas", I32),
        one(4, "availableReplicas", I32),
        one(5, "unavailableReplicas", I32),
        one(9, "terminatingReplicas", I32).ptr(),
        list(6, "conditions", Msg(&DEPLOYMENT_CONDITION)),
        one(8, "collisionCount", I32).ptr(),
    ],
};

pub static DEPLOYMENT: Message = Message {
    name: "Deployment",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&DEPLOYMENT_SPEC)).req(),
        one(3, "status", Msg(&DEPLOYMENT_STATUS)).req(),
    ],
};

// ---- apps/v1 ReplicaSet and what it alone needs ----

pub static REPLICA_SET_SPEC: Message = Message {
    name: "ReplicaSetSpec",
    fields: &[
        one(1, "replicas", I32).ptr(),
        one(4, "minReadySeconds", I32),
        one(2, "selector", Msg(&LABEL_SELECTOR)).nullable(),
        one(3, "template", Msg(&POD_TEMPLATE_SPEC)).req(),
    ],
};

pub static REPLICA_SET_CONDITION: Message = Message {
    name: "ReplicaSetCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(3, "lastTransitionTime", Time).req(),
        one(4, "reason", Str),
        one(5, "message", Str),
    ],
};

pub static REPLICA_SET_STATUS: Message = Message {
    name: "ReplicaSetStatus",
    fields: &[
        one(1, "replicas", I32).req(),
        one(2, "fullyLabeledReplicas", I32),
        one(4, "readyReplicas", I32),
        one(5, "availableReplicas", I32),
        one(7, "terminatingReplicas", I32).ptr(),
        one(3, "observedGeneration", I64),
        list(6, "conditions", Msg(&REPLICA_SET_CONDITION)),
    ],
};

pub static REPLICA_SET: Message = Message {
    name: "ReplicaSet",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&REPLICA_SET_SPEC)).req(),
        one(3, "status", Msg(&REPLICA_SET_STATUS)).req(),
    ],
};

// ---- core/v1 PersistentVolumeClaim and what it alone needs ----

pub static PERSISTENT_VOLUME_CLAIM_CONDITION: Message = Message {
    name: "PersistentVolumeClaimCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(3, "lastProbeTime", Time).req(),
        one(4, "lastTransitionTime", Time).req(),
        one(5, "reason", Str),
        one(6, "message", Str),
    ],
};

pub static MODIFY_VOLUME_STATUS: Message = Message {
    name: "ModifyVolumeStatus",
    fields: &[one(1, "targetVolumeAttributesClassName", Str), one(2, "status", Str).req()],
};

pub static PERSISTENT_VOLUME_CLAIM_STATUS: Message = Message {
    name: "PersistentVolumeClaimStatus",
    fields: &[
        one(1, "phase", Str),
        list(2, "accessModes", Str),
        map(3, "capacity", Qty),
        list(4, "conditions", Msg(&PERSISTENT_VOLUME_CLAIM_CONDITION)),
        map(5, "allocatedResources", Qty),
        map(7, "allocatedResourceStatuses", Str),
        one(8, "currentVolumeAttributesClassName", Str).ptr(),
        one(9, "modifyVolumeStatus", Msg(&MODIFY_VOLUME_STATUS)).ptr(),
    ],
};

pub static PERSISTENT_VOLUME_CLAIM: Message = Message {
    name: "PersistentVolumeClaim",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&PERSISTENT_VOLUME_CLAIM_SPEC)).req(),
        one(3, "status", Msg(&PERSISTENT_VOLUME_CLAIM_STATUS)).req(),
    ],
};

// ---- batch/v1 Job and what it alone needs ----

pub static POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT: Message = Message {
    name: "PodFailurePolicyOnExitCodesRequirement",
    fields: &[
        one(1, "containerName", Str).ptr(),
        one(2, "operator", Str).req(),
        list(3, "values", I32).nullable(),
    ],
};

pub static POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN: Message = Message {
    name: "PodFailurePolicyOnPodConditionsPattern",
    fields: &[one(1, "type", Str).req(), one(2, "status", Str).req()],
};

pub static POD_FAILURE_POLICY_RULE: Message = Message {
    name: "PodFailurePolicyRule",
    fields: &[
        one(1, "action", Str).req(),
        one(2, "onExitCodes", Msg(&POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT)).ptr(),
        list(3, "onPodConditions", Msg(&POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN)),
    ],
};

pub static POD_FAILURE_POLICY: Message = Message {
    name: "PodFailurePolicy",
    fields: &[list(1, "rules", Msg(&POD_FAILURE_POLICY_RULE)).nullable()],
};

pub static SUCCESS_POLICY_RULE: Message = Message {
    name: "SuccessPolicyRule",
    fields: &[one(1, "succeededIndexes", Str).ptr(), one(2, "succeededCount", I32).ptr()],
};

pub static SUCCESS_POLICY: Message = Message {
    name: "SuccessPolicy",
    fields: &[list(1, "rules", Msg(&SUCCESS_POLICY_RULE)).nullable()],
};

pub static JOB_SPEC: Message = Message {
    name: "JobSpec",
    fields: &[
        one(1, "parallelism", I32).ptr(),
        one(2, "completions", I32).ptr(),
        one(3, "activeDeadlineSeconds", I64).ptr(),
        one(11, "podFailurePolicy", Msg(&POD_FAILURE_POLICY)).ptr(),
        one(16, "successPolicy", Msg(&SUCCESS_POLICY)).ptr(),
        one(7, "backoffLimit", I32).ptr(),
        one(12, "backoffLimitPerIndex", I32).ptr(),
        one(13, "maxFailedIndexes", I32).ptr(),
        one(4, "selector", Msg(&LABEL_SELECTOR)).ptr(),
        one(5, "manualSelector", Bool).ptr(),
        one(6, "template", Msg(&POD_TEMPLATE_SPEC)).req(),
        one(8, "ttlSecondsAfterFinished", I32).ptr(),
        one(9, "completionMode", Str).ptr(),
        one(10, "suspend", Bool).ptr(),
        one(14, "podReplacementPolicy", Str).ptr(),
        one(15, "managedBy", Str).ptr(),
    ],
};

pub static JOB_CONDITION: Message = Message {
    name: "JobCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(3, "lastProbeTime", Time).req(),
        one(4, "lastTransitionTime", Time).req(),
        one(5, "reason", Str),
        one(6, "message", Str),
    ],
};

pub static UNCOUNTED_TERMINATED_PODS: Message = Message {
    name: "UncountedTerminatedPods",
    fields: &[list(1, "succeeded", Str), list(2, "failed", Str)],
};

pub static JOB_STATUS: Message = Message {
    name: "JobStatus",
    fields: &[
        list(1, "conditions", Msg(&JOB_CONDITION)),
        one(2, "startTime", Time).ptr(),
        one(3, "completionTime", Time).ptr(),
        one(4, "active", I32),
        one(5, "succeeded", I32),
        one(6, "failed", I32),
        one(11, "terminating", I32).ptr(),
        one(7, "completedIndexes", Str),
        one(10, "failedIndexes", Str).ptr(),
        one(8, "uncountedTerminatedPods", Msg(&UNCOUNTED_TERMINATED_PODS)).ptr(),
        one(9, "ready", I32).ptr(),
    ],
};

pub static JOB: Message = Message {
    name: "Job",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&JOB_SPEC)).req(),
        one(3, "status", Msg(&JOB_STATUS)).req(),
    ],
};

// ---- events/v1 Event and what it alone needs ----

pub static EVENTS_EVENT_SERIES: Message = Message {
    name: "EventSeries",
    fields: &[one(1, "count", I32).req(), one(2, "lastObservedTime", MicroTime).req()],
};

pub static EVENTS_EVENT: Message = Message {
    name: "Event",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "eventTime", MicroTime).req(),
        one(3, "series", Msg(&EVENTS_EVENT_SERIES)).ptr(),
        one(4, "reportingController", Str),
        one(5, "reportingInstance", Str),
        one(6, "action", Str),
        one(7, "reason", Str),
        one(8, "regarding", Msg(&OBJECT_REFERENCE)).req(),
        one(9, "related", Msg(&OBJECT_REFERENCE)).ptr(),
        one(10, "note", Str),
        one(11, "type", Str),
        one(12, "deprecatedSource", Msg(&EVENT_SOURCE)).req(),
        one(13, "deprecatedFirstTimestamp", Time).req(),
        one(14, "deprecatedLastTimestamp", Time).req(),
        one(15, "deprecatedCount", I32),
    ],
};

// ---- apps/v1 StatefulSet and what it alone needs ----

pub static ROLLING_UPDATE_STATEFUL_SET_STRATEGY: Message = Message {
    name: "RollingUpdateStatefulSetStrategy",
    fields: &[one(1, "partition", I32).ptr(), one(2, "maxUnavailable", IntOrStr).ptr()],
};

pub static STATEFUL_SET_UPDATE_STRATEGY: Message = Message {
    name: "StatefulSetUpdateStrategy",
    fields: &[
        one(1, "type", Str),
        one(2, "rollingUpdate", Msg(&ROLLING_UPDATE_STATEFUL_SET_STRATEGY)).ptr(),
    ],
};

pub static STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY: Message = Message {
    name: "StatefulSetPersistentVolumeClaimRetentionPolicy",
    fields: &[one(1, "whenDeleted", Str), one(2, "whenScaled", Str)],
};

pub static STATEFUL_SET_ORDINALS: Message =
    Message { name: "StatefulSetOrdinals", fields: &[one(1, "start", I32).req()] };

pub static STATEFUL_SET_SPEC: Message = Message {
    name: "StatefulSetSpec",
    fields: &[
        one(1, "replicas", I32).ptr(),
        one(2, "selector", Msg(&LABEL_SELECTOR)).nullable(),
        one(3, "template", Msg(&POD_TEMPLATE_SPEC)).req(),
        list(4, "volumeClaimTemplates", Msg(&PERSISTENT_VOLUME_CLAIM)),
        one(5, "serviceName", Str).req(),
        one(6, "podManagementPolicy", Str),
        one(7, "updateStrategy", Msg(&STATEFUL_SET_UPDATE_STRATEGY)).req(),
        one(8, "revisionHistoryLimit", I32).ptr(),
        one(9, "minReadySeconds", I32),
        one(
            10,
            "persistentVolumeClaimRetentionPolicy",
            Msg(&STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY),
        )
        .ptr(),
        one(11, "ordinals", Msg(&STATEFUL_SET_ORDINALS)).ptr(),
    ],
};

pub static STATEFUL_SET_CONDITION: Message = Message {
    name: "StatefulSetCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(3, "lastTransitionTime", Time).req(),
        one(4, "reason", Str),
        one(5, "message", Str),
    ],
};

pub static STATEFUL_SET_STATUS: Message = Message {
    name: "StatefulSetStatus",
    fields: &[
        one(1, "observedGeneration", I64),
        one(2, "replicas", I32).req(),
        one(3, "readyReplicas", I32),
        one(4, "currentReplicas", I32),
        one(5, "updatedReplicas", I32),
        one(6, "currentRevision", Str),
        one(7, "updateRevision", Str),
        one(9, "collisionCount", I32).ptr(),
        list(10, "conditions", Msg(&STATEFUL_SET_CONDITION)),
        one(11, "availableReplicas", I32).req(),
    ],
};

pub static STATEFUL_SET: Message = Message {
    name: "StatefulSet",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&STATEFUL_SET_SPEC)).req(),
        one(3, "status", Msg(&STATEFUL_SET_STATUS)).req(),
    ],
};

// ---- apps/v1 DaemonSet and what it alone needs ----

pub static ROLLING_UPDATE_DAEMON_SET: Message = Message {
    name: "RollingUpdateDaemonSet",
    fields: &[one(1, "maxUnavailable", IntOrStr).ptr(), one(2, "maxSurge", IntOrStr).ptr()],
};

pub static DAEMON_SET_UPDATE_STRATEGY: Message = Message {
    name: "DaemonSetUpdateStrategy",
    fields: &[one(1, "type", Str), one(2, "rollingUpdate", Msg(&ROLLING_UPDATE_DAEMON_SET)).ptr()],
};

pub static DAEMON_SET_SPEC: Message = Message {
    name: "DaemonSetSpec",
    fields: &[
        one(1, "selector", Msg(&LABEL_SELECTOR)).nullable(),
        one(2, "template", Msg(&POD_TEMPLATE_SPEC)).req(),
        one(3, "updateStrategy", Msg(&DAEMON_SET_UPDATE_STRATEGY)).req(),
        one(4, "minReadySeconds", I32),
        one(6, "revisionHistoryLimit", I32).ptr(),
    ],
};

pub static DAEMON_SET_CONDITION: Message = Message {
    name: "DaemonSetCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(3, "lastTransitionTime", Time).req(),
        one(4, "reason", Str),
        one(5, "message", Str),
    ],
};

pub static DAEMON_SET_STATUS: Message = Message {
    name: "DaemonSetStatus",
    fields: &[
        one(1, "currentNumberScheduled", I32).req(),
        one(2, "numberMisscheduled", I32).req(),
        one(3, "desiredNumberScheduled", I32).req(),
        one(4, "numberReady", I32).req(),
        one(5, "observedGeneration", I64),
        one(6, "updatedNumberScheduled", I32),
        one(7, "numberAvailable", I32),
        one(8, "numberUnavailable", I32),
        one(9, "collisionCount", I32).ptr(),
        list(10, "conditions", Msg(&DAEMON_SET_CONDITION)),
    ],
};

pub static DAEMON_SET: Message = Message {
    name: "DaemonSet",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&DAEMON_SET_SPEC)).req(),
        one(3, "status", Msg(&DAEMON_SET_STATUS)).req(),
    ],
};

// ---- batch/v1 CronJob and what it alone needs ----

pub static JOB_TEMPLATE_SPEC: Message = Message {
    name: "JobTemplateSpec",
    fields: &[one(1, "metadata", Msg(&OBJECT_META)).req(), one(2, "spec", Msg(&JOB_SPEC)).req()],
};

pub static CRON_JOB_SPEC: Message = Message {
    name: "CronJobSpec",
    fields: &[
        one(1, "schedule", Str).req(),
        one(8, "timeZone", Str).ptr(),
        one(2, "startingDeadlineSeconds", I64).ptr(),
        one(3, "concurrencyPolicy", Str),
        one(4, "suspend", Bool).ptr(),
        one(5, "jobTemplate", Msg(&JOB_TEMPLATE_SPEC)).req(),
        one(6, "successfulJobsHistoryLimit", I32).ptr(),
        one(7, "failedJobsHistoryLimit", I32).ptr(),
    ],
};

pub static CRON_JOB_STATUS: Message = Message {
    name: "CronJobStatus",
    fields: &[
        list(1, "active", Msg(&OBJECT_REFERENCE)),
        one(4, "lastScheduleTime", Time).ptr(),
        one(5, "lastSuccessfulTime", Time).ptr(),
    ],
};

pub static CRON_JOB: Message = Message {
    name: "CronJob",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&CRON_JOB_SPEC)).req(),
        one(3, "status", Msg(&CRON_JOB_STATUS)).req(),
    ],
};

// ---- core/v1 Endpoints and what it alone needs ----

pub static ENDPOINT_ADDRESS: Message = Message {
    name: "EndpointAddress",
    fields: &[
        one(1, "ip", Str).req(),
        one(3, "hostname", Str),
        one(4, "nodeName", Str).ptr(),
        one(2, "targetRef", Msg(&OBJECT_REFERENCE)).ptr(),
    ],
};

pub static ENDPOINT_PORT: Message = Message {
    name: "EndpointPort",
    fields: &[
        one(1, "name", Str),
        one(2, "port", I32).req(),
        one(3, "protocol", Str),
        one(4, "appProtocol", Str).ptr(),
    ],
};

pub static ENDPOINT_SUBSET: Message = Message {
    name: "EndpointSubset",
    fields: &[
        list(1, "addresses", Msg(&ENDPOINT_ADDRESS)),
        list(2, "notReadyAddresses", Msg(&ENDPOINT_ADDRESS)),
        list(3, "ports", Msg(&ENDPOINT_PORT)),
    ],
};

pub static ENDPOINTS: Message = Message {
    name: "Endpoints",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        list(2, "subsets", Msg(&ENDPOINT_SUBSET)),
    ],
};

// ---- core/v1 PodTemplate and what it alone needs ----

pub static POD_TEMPLATE: Message = Message {
    name: "PodTemplate",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "template", Msg(&POD_TEMPLATE_SPEC)).req(),
    ],
};

// ---- core/v1 ReplicationController and what it alone needs ----

pub static REPLICATION_CONTROLLER_SPEC: Message = Message {
    name: "ReplicationControllerSpec",
    fields: &[
        one(1, "replicas", I32).ptr(),
        one(4, "minReadySeconds", I32),
        map(2, "selector", Str),
        one(3, "template", Msg(&POD_TEMPLATE_SPEC)).ptr(),
    ],
};

pub static REPLICATION_CONTROLLER_CONDITION: Message = Message {
    name: "ReplicationControllerCondition",
    fields: &[
        one(1, "type", Str).req(),
        one(2, "status", Str).req(),
        one(3, "lastTransitionTime", Time).req(),
        one(4, "reason", Str),
        one(5, "message", Str),
    ],
};

pub static REPLICATION_CONTROLLER_STATUS: Message = Message {
    name: "ReplicationControllerStatus",
    fields: &[
        one(1, "replicas", I32).req(),
        one(2, "fullyLabeledReplicas", I32),
        one(4, "readyReplicas", I32),
        one(5, "availableReplicas", I32),
        one(3, "observedGeneration", I64),
        list(6, "conditions", Msg(&REPLICATION_CONTROLLER_CONDITION)),
    ],
};

pub static REPLICATION_CONTROLLER: Message = Message {
    name: "ReplicationController",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&REPLICATION_CONTROLLER_SPEC)).req(),
        one(3, "status", Msg(&REPLICATION_CONTROLLER_STATUS)).req(),
    ],
};

// ---- core/v1 LimitRange and what it alone needs ----

pub static LIMIT_RANGE_ITEM: Message = Message {
    name: "LimitRangeItem",
    fields: &[
        one(1, "type", Str).req(),
        map(2, "max", Qty),
        map(3, "min", Qty),
        map(4, "default", Qty),
        map(5, "defaultRequest", Qty),
        map(6, "maxLimitRequestRatio", Qty),
    ],
};

pub static LIMIT_RANGE_SPEC: Message = Message {
    name: "LimitRangeSpec",
    fields: &[list(1, "limits", Msg(&LIMIT_RANGE_ITEM)).nullable()],
};

pub static LIMIT_RANGE: Message = Message {
    name: "LimitRange",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&LIMIT_RANGE_SPEC)).req(),
    ],
};

// ---- core/v1 ResourceQuota and what it alone needs ----

pub static SCOPED_RESOURCE_SELECTOR_REQUIREMENT: Message = Message {
    name: "ScopedResourceSelectorRequirement",
    fields: &[
        one(1, "scopeName", Str).req(),
        one(2, "operator", Str).req(),
        list(3, "values", Str),
    ],
};

pub static SCOPE_SELECTOR: Message = Message {
    name: "ScopeSelector",
    fields: &[list(1, "matchExpressions", Msg(&SCOPED_RESOURCE_SELECTOR_REQUIREMENT))],
};

pub static RESOURCE_QUOTA_SPEC: Message = Message {
    name: "ResourceQuotaSpec",
    fields: &[
        map(1, "hard", Qty),
        list(2, "scopes", Str),
        one(3, "scopeSelector", Msg(&SCOPE_SELECTOR)).ptr(),
    ],
};

pub static RESOURCE_QUOTA_STATUS: Message =
    Message { name: "ResourceQuotaStatus", fields: &[map(1, "hard", Qty), map(2, "used", Qty)] };

pub static RESOURCE_QUOTA: Message = Message {
    name: "ResourceQuota",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&RESOURCE_QUOTA_SPEC)).req(),
        one(3, "status", Msg(&RESOURCE_QUOTA_STATUS)).req(),
    ],
};

// ---- core/v1 Binding and what it alone needs ----

pub static BINDING: Message = Message {
    name: "Binding",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "target", Msg(&OBJECT_REFERENCE)).req(),
    ],
};

// ---- autoscaling/v1 Scale and what it alone needs ----

pub static SCALE_SPEC: Message = Message { name: "ScaleSpec", fields: &[one(1, "replicas", I32)] };

pub static SCALE_STATUS: Message = Message {
    name: "ScaleStatus",
    fields: &[one(1, "replicas", I32).req(), one(2, "selector", Str)],
};

pub static SCALE: Message = Message {
    name: "Scale",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&SCALE_SPEC)).req(),
        one(3, "status", Msg(&SCALE_STATUS)).req(),
    ],
};

// ---- authentication/v1 TokenRequest and what it alone needs ----

pub static BOUND_OBJECT_REFERENCE: Message = Message {
    name: "BoundObjectReference",
    fields: &[
        one(1, "kind", Str),
        one(2, "apiVersion", Str),
        one(3, "name", Str),
        one(4, "uid", Str),
    ],
};

pub static TOKEN_REQUEST_SPEC: Message = Message {
    name: "TokenRequestSpec",
    fields: &[
        list(1, "audiences", Str).nullable(),
        one(4, "expirationSeconds", I64).nullable(),
        one(3, "boundObjectRef", Msg(&BOUND_OBJECT_REFERENCE)).nullable(),
    ],
};

pub static TOKEN_REQUEST_STATUS: Message = Message {
    name: "TokenRequestStatus",
    fields: &[one(1, "token", Str).req(), one(2, "expirationTimestamp", Time).req()],
};

pub static TOKEN_REQUEST: Message = Message {
    name: "TokenRequest",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&TOKEN_REQUEST_SPEC)).req(),
        one(3, "status", Msg(&TOKEN_REQUEST_STATUS)).req(),
    ],
};

// ---- authentication/v1 SelfSubjectReview and what it alone needs ----

pub static USER_INFO: Message = Message {
    name: "UserInfo",
    fields: &[
        one(1, "username", Str),
        one(2, "uid", Str),
        list(3, "groups", Str),
        map(4, "extra", StrList),
    ],
};

pub static SELF_SUBJECT_REVIEW_STATUS: Message = Message {
    name: "SelfSubjectReviewStatus",
    fields: &[one(1, "userInfo", Msg(&USER_INFO)).req()],
};

pub static SELF_SUBJECT_REVIEW: Message = Message {
    name: "SelfSubjectReview",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "status", Msg(&SELF_SUBJECT_REVIEW_STATUS)).req(),
    ],
};

// ---- authorization/v1 SelfSubjectAccessReview and what it alone needs ----

pub static FIELD_SELECTOR_REQUIREMENT: Message = Message {
    name: "FieldSelectorRequirement",
    fields: &[one(1, "key", Str).req(), one(2, "operator", Str).req(), list(3, "values", Str)],
};

pub static FIELD_SELECTOR_ATTRIBUTES: Message = Message {
    name: "FieldSelectorAttributes",
    fields: &[
        one(1, "rawSelector", Str),
        list(2, "requirements", Msg(&FIELD_SELECTOR_REQUIREMENT)),
    ],
};

pub static LABEL_SELECTOR_ATTRIBUTES: Message = Message {
    name: "LabelSelectorAttributes",
    fields: &[
        one(1, "rawSelector", Str),
        list(2, "requirements", Msg(&LABEL_SELECTOR_REQUIREMENT)),
    ],
};

pub static RESOURCE_ATTRIBUTES: Message = Message {
    name: "ResourceAttributes",
    fields: &[
        one(1, "namespace", Str),
        one(2, "verb", Str),
        one(3, "group", Str),
        one(4, "version", Str),
        one(5, "resource", Str),
        one(6, "subresource", Str),
        one(7, "name", Str),
        one(8, "fieldSelector", Msg(&FIELD_SELECTOR_ATTRIBUTES)).ptr(),
        one(9, "labelSelector", Msg(&LABEL_SELECTOR_ATTRIBUTES)).ptr(),
    ],
};

pub static NON_RESOURCE_ATTRIBUTES: Message =
    Message { name: "NonResourceAttributes", fields: &[one(1, "path", Str), one(2, "verb", Str)] };

pub static SELF_SUBJECT_ACCESS_REVIEW_SPEC: Message = Message {
    name: "SelfSubjectAccessReviewSpec",
    fields: &[
        one(1, "resourceAttributes", Msg(&RESOURCE_ATTRIBUTES)).ptr(),
        one(2, "nonResourceAttributes", Msg(&NON_RESOURCE_ATTRIBUTES)).ptr(),
    ],
};

pub static SUBJECT_ACCESS_REVIEW_STATUS: Message = Message {
    name: "SubjectAccessReviewStatus",
    fields: &[
        one(1, "allowed", Bool).req(),
        one(4, "denied", Bool),
        one(2, "reason", Str),
        one(3, "evaluationError", Str),
    ],
};

pub static SELF_SUBJECT_ACCESS_REVIEW: Message = Message {
    name: "SelfSubjectAccessReview",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&SELF_SUBJECT_ACCESS_REVIEW_SPEC)).req(),
        one(3, "status", Msg(&SUBJECT_ACCESS_REVIEW_STATUS)).req(),
    ],
};

// ---- policy/v1 Eviction and what it alone needs ----

pub static PRECONDITIONS: Message = Message {
    name: "Preconditions",
    fields: &[one(1, "uid", Str).ptr(), one(2, "resourceVersion", Str).ptr()],
};

pub static DELETE_OPTIONS: Message = Message {
    name: "DeleteOptions",
    fields: &[
        one(1, "gracePeriodSeconds", I64).ptr(),
        one(2, "preconditions", Msg(&PRECONDITIONS)).ptr(),
        one(3, "orphanDependents", Bool).ptr(),
        one(4, "propagationPolicy", Str).ptr(),
        list(5, "dryRun", Str),
        one(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Bool).ptr(),
    ],
};

pub static EVICTION: Message = Message {
    name: "Eviction",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "deleteOptions", Msg(&DELETE_OPTIONS)).ptr(),
    ],
};

// ---- rbac/v1 Role and what it alone needs ----

pub static POLICY_RULE: Message = Message {
    name: "PolicyRule",
    fields: &[
        list(1, "verbs", Str).nullable(),
        list(2, "apiGroups", Str),
        list(3, "resources", Str),
        list(4, "resourceNames", Str),
        list(5, "nonResourceURLs", Str),
    ],
};

pub static ROLE: Message = Message {
    name: "Role",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        list(2, "rules", Msg(&POLICY_RULE)).nullable(),
    ],
};

// ---- rbac/v1 ClusterRole and what it alone needs ----

pub static AGGREGATION_RULE: Message = Message {
    name: "AggregationRule",
    fields: &[list(1, "clusterRoleSelectors", Msg(&LABEL_SELECTOR))],
};

pub static CLUSTER_ROLE: Message = Message {
    name: "ClusterRole",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        list(2, "rules", Msg(&POLICY_RULE)).nullable(),
        one(3, "aggregationRule", Msg(&AGGREGATION_RULE)).ptr(),
    ],
};

// ---- rbac/v1 RoleBinding and what it alone needs ----

pub static SUBJECT: Message = Message {
    name: "Subject",
    fields: &[
        one(1, "kind", Str).req(),
        one(2, "apiGroup", Str),
        one(3, "name", Str).req(),
        one(4, "namespace", Str),
    ],
};

pub static ROLE_REF: Message = Message {
    name: "RoleRef",
    fields: &[one(1, "apiGroup", Str).req(), one(2, "kind", Str).req(), one(3, "name", Str).req()],
};

pub static ROLE_BINDING: Message = Message {
    name: "RoleBinding",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        list(2, "subjects", Msg(&SUBJECT)),
        one(3, "roleRef", Msg(&ROLE_REF)).req(),
    ],
};

// ---- rbac/v1 ClusterRoleBinding and what it alone needs ----

pub static CLUSTER_ROLE_BINDING: Message = Message {
    name: "ClusterRoleBinding",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        list(2, "subjects", Msg(&SUBJECT)),
        one(3, "roleRef", Msg(&ROLE_REF)).req(),
    ],
};

// ---- networking/v1 Ingress and what it alone needs ----

pub static SERVICE_BACKEND_PORT: Message =
    Message { name: "ServiceBackendPort", fields: &[one(1, "name", Str), one(2, "number", I32)] };

pub static INGRESS_SERVICE_BACKEND: Message = Message {
    name: "IngressServiceBackend",
    fields: &[one(1, "name", Str).req(), one(2, "port", Msg(&SERVICE_BACKEND_PORT)).req()],
};

pub static INGRESS_BACKEND: Message = Message {
    name: "IngressBackend",
    fields: &[
        one(4, "service", Msg(&INGRESS_SERVICE_BACKEND)).ptr(),
        one(3, "resource", Msg(&TYPED_LOCAL_OBJECT_REFERENCE)).ptr(),
    ],
};

pub static INGRESS_TLS: Message =
    Message { name: "IngressTLS", fields: &[list(1, "hosts", Str), one(2, "secretName", Str)] };

pub static HTTP_INGRESS_PATH: Message = Message {
    name: "HTTPIngressPath",
    fields: &[
        one(1, "path", Str),
        one(3, "pathType", Str).nullable(),
        one(2, "backend", Msg(&INGRESS_BACKEND)).req(),
    ],
};

pub static HTTP_INGRESS_RULE_VALUE: Message = Message {
    name: "HTTPIngressRuleValue",
    fields: &[list(1, "paths", Msg(&HTTP_INGRESS_PATH)).nullable()],
};

pub static INGRESS_RULE_VALUE: Message = Message {
    name: "IngressRuleValue",
    fields: &[one(1, "http", Msg(&HTTP_INGRESS_RULE_VALUE)).ptr()],
};

pub static INGRESS_RULE: Message = Message {
    name: "IngressRule",
    fields: &[one(1, "host", Str), one(2, "", Msg(&INGRESS_RULE_VALUE)).inline()],
};

pub static INGRESS_SPEC: Message = Message {
    name: "IngressSpec",
    fields: &[
        one(4, "ingressClassName", Str).ptr(),
        one(1, "defaultBackend", Msg(&INGRESS_BACKEND)).ptr(),
        list(2, "tls", Msg(&INGRESS_TLS)),
        list(3, "rules", Msg(&INGRESS_RULE)),
    ],
};

pub static INGRESS_PORT_STATUS: Message = Message {
    name: "IngressPortStatus",
    fields: &[one(1, "port", I32).req(), one(2, "protocol", Str).req(), one(3, "error", Str).ptr()],
};

pub static INGRESS_LOAD_BALANCER_INGRESS: Message = Message {
    name: "IngressLoadBalancerIngress",
    fields: &[
        one(1, "ip", Str),
        one(2, "hostname", Str),
        list(4, "ports", Msg(&INGRESS_PORT_STATUS)),
    ],
};

pub static INGRESS_LOAD_BALANCER_STATUS: Message = Message {
    name: "IngressLoadBalancerStatus",
    fields: &[list(1, "ingress", Msg(&INGRESS_LOAD_BALANCER_INGRESS))],
};

pub static INGRESS_STATUS: Message = Message {
    name: "IngressStatus",
    fields: &[one(1, "loadBalancer", Msg(&INGRESS_LOAD_BALANCER_STATUS)).req()],
};

pub static INGRESS: Message = Message {
    name: "Ingress",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&INGRESS_SPEC)).req(),
        one(3, "status", Msg(&INGRESS_STATUS)).req(),
    ],
};

// ---- policy/v1 PodDisruptionBudget and what it alone needs ----

pub static POD_DISRUPTION_BUDGET_SPEC: Message = Message {
    name: "PodDisruptionBudgetSpec",
    fields: &[
        one(1, "minAvailable", IntOrStr).ptr(),
        one(2, "selector", Msg(&LABEL_SELECTOR)).ptr(),
        one(3, "maxUnavailable", IntOrStr).ptr(),
        one(4, "unhealthyPodEvictionPolicy", Str).ptr(),
    ],
};

pub static POD_DISRUPTION_BUDGET_STATUS: Message = Message {
    name: "PodDisruptionBudgetStatus",
    fields: &[
        one(1, "observedGeneration", I64),
        map(2, "disruptedPods", Time),
        one(3, "disruptionsAllowed", I32).req(),
        one(4, "currentHealthy", I32).req(),
        one(5, "desiredHealthy", I32).req(),
        one(6, "expectedPods", I32).req(),
        list(7, "conditions", Msg(&CONDITION)),
    ],
};

pub static POD_DISRUPTION_BUDGET: Message = Message {
    name: "PodDisruptionBudget",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "spec", Msg(&POD_DISRUPTION_BUDGET_SPEC)).req(),
        one(3, "status", Msg(&POD_DISRUPTION_BUDGET_STATUS)).req(),
    ],
};

// ---- scheduling/v1 PriorityClass and what it alone needs ----

pub static PRIORITY_CLASS: Message = Message {
    name: "PriorityClass",
    fields: &[
        one(1, "metadata", Msg(&OBJECT_META)).req(),
        one(2, "value", I32).req(),
        one(3, "globalDefault", Bool),
        one(4, "description", Str),
        one(5, "preemptionPolicy", Str).ptr(),
    ],
};
