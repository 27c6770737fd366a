//! Pure conversions between Kubernetes objects and Docker's view of the same
//! things, kept free of I/O so they can be tested against recorded daemon output.

pub mod foreign;
pub mod node;
pub mod pod;
pub mod service;
pub mod status;

/// Labels on everything k2d creates in Docker, so state can be rebuilt from
/// Docker alone and `docker ps` tells a person what each container is. The
/// names are those the kubelet's dockershim used.
pub mod labels {
    /// Set on every object k2d manages (value `true`).
    pub const MANAGED: &str = "k2d.io/managed";
    /// Which k2d (its data path's instance id) owns the object, so several
    /// k2d on one Docker (tests, or a second data path) never touch each
    /// other's containers.
    pub const INSTANCE: &str = "k2d.io/instance";
    pub const POD_NAME: &str = "io.kubernetes.pod.name";
    pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
    pub const POD_UID: &str = "io.kubernetes.pod.uid";
    pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
    /// `podsandbox` or `container`.
    pub const TYPE: &str = "io.kubernetes.docker.type";
    /// `initContainer` or `container` (for `type=container`).
    pub const CONTAINER_KIND: &str = "k2d.io/container-kind";
    /// The kind of the pod's controller (`ReplicaSet`, `Job`...), or `Pod`.
    pub const OWNER_KIND: &str = "k2d.io/owner-kind";
    /// How many times this container was restarted (its `restartCount`).
    pub const RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
}
