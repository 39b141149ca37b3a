//! A small, blocking CRI client that drives containerd's CRI plugin the way kubelet does
//! (RunPodSandbox → CreateContainer → StartContainer, and the stop/remove calls for cleanup),
//! so the end-to-end tests see real Kubernetes-shaped cgroups and OCI bundle annotations
//! without a kubelet.
//!
//! It speaks the `runtime.v1` gRPC API over containerd's unix socket with the maintained
//! `k8s-cri` bindings (generated from kubernetes/cri-api) and `tonic`, the same stack those
//! bindings are generated for: no hand-written protobuf, and the messages are exactly the
//! ones kubelet sends. (`k8s-cri` generates its code at build time, so building needs `protoc`:
//! Debian's `protobuf-compiler`.)
//!
//! Tests are synchronous, so every call blocks on a private current-thread tokio runtime.
//! Pods use the host network namespace, so no CNI plugin is needed. On this test VM the CRI
//! plugin needs `restrict_oom_score_adj = true`: the sandbox's default oom_score_adj (-998)
//! cannot be set here, and runc then fails with "can't get final child's PID from pipe: EOF".

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use hyper_util::rt::TokioIo;
use k8s_cri::v1::{
    Capability, ContainerConfig, ContainerFilter, ContainerMetadata, ContainerState, ContainerStatusRequest,
    CreateContainerRequest, ImageSpec, LinuxContainerConfig, LinuxContainerResources, LinuxContainerSecurityContext,
    LinuxPodSandboxConfig, LinuxSandboxSecurityContext, ListContainersRequest, NamespaceMode, NamespaceOption,
    PodSandboxConfig, PodSandboxMetadata, RemoveContainerRequest, RemovePodSandboxRequest, RunPodSandboxRequest,
    StartContainerRequest, StopContainerRequest, StopPodSandboxRequest, VersionRequest,
    runtime_service_client::RuntimeServiceClient,
};
use tonic::transport::{Channel, Endpoint, Uri};

/// How long `connect` keeps trying until the socket answers `Version`.
const CONNECT_WITHIN: Duration = Duration::from_secs(20);
/// Upper bound for any single call, so a wedged runtime fails a test instead of hanging it.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// A pod as kubelet describes it to the runtime.
#[derive(Debug, Clone)]
pub struct PodSpec {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    /// `linux.cgroup_parent`, e.g. `/kubepods/burstable/pod<uid>` (cgroupfs driver).
    pub cgroup_parent: String,
    /// The sandbox's `log_directory` (kubelet: `/var/log/pods/<ns>_<name>_<uid>`).
    pub log_dir: PathBuf,
}

/// One container of a pod.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// The full command (OCI `args`); empty uses the image's entrypoint.
    pub command: Vec<String>,
    /// `linux.resources.memory_limit_in_bytes`; 0 means no limit.
    pub memory_limit_bytes: i64,
    /// Capabilities added to the default set, e.g. `SYS_ADMIN` (without the `CAP_` prefix, as kubelet sends them).
    pub add_capabilities: Vec<String>,
}

/// A connection to a CRI runtime service.
pub struct Cri {
    runtime: tokio::runtime::Runtime,
    client: RuntimeServiceClient<Channel>,
}

fn status_err(call: &str, status: tonic::Status) -> String {
    format!("CRI {call}: {:?}: {}", status.code(), status.message())
}

async fn open_channel(socket: PathBuf) -> Result<Channel, tonic::transport::Error> {
    // The URI is required by tonic but unused: every connection goes to the unix socket.
    Endpoint::from_static("http://[::]:50051")
        .timeout(CALL_TIMEOUT)
        .connect_timeout(Duration::from_secs(2))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(socket).await?)) }
        }))
        .await
}

impl Cri {
    /// Connects to the runtime at `socket`, retrying until it answers `Version` (the socket may
    /// not exist yet, or exist before the CRI service is serving), for up to ~20 s.
    pub fn connect(socket: &Path) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let deadline = Instant::now() + CONNECT_WITHIN;
        let mut pause = Duration::from_millis(20);
        let client = runtime.block_on(async {
            loop {
                let attempt = async {
                    let channel = open_channel(socket.to_path_buf()).await.map_err(|e| format!("connecting: {e:?}"))?;
                    let mut client = RuntimeServiceClient::new(channel);
                    let version = client
                        .version(VersionRequest { version: "v1".into() })
                        .await
                        .map_err(|s| status_err("Version", s))?
                        .into_inner();
                    if version.runtime_api_version != "v1" {
                        return Err(format!("runtime answers CRI API {:?}, not v1", version.runtime_api_version));
                    }
                    Ok(client)
                };
                match tokio::time::timeout(Duration::from_secs(5), attempt).await {
                    Ok(Ok(client)) => return Ok(client),
                    Ok(Err(e)) if Instant::now() >= deadline => {
                        return Err(format!("{} did not answer CRI Version within {CONNECT_WITHIN:?}: {e}", socket.display()));
                    }
                    Err(_) if Instant::now() >= deadline => {
                        return Err(format!("{} did not answer CRI Version within {CONNECT_WITHIN:?} (call timed out)", socket.display()));
                    }
                    _ => {}
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        })?;
        Ok(Self { runtime, client })
    }

    /// The sandbox config kubelet would send for `pod` (host network, no CNI).
    fn sandbox_config(pod: &PodSpec) -> PodSandboxConfig {
        PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: pod.name.clone(),
                uid: pod.uid.clone(),
                namespace: pod.namespace.clone(),
                attempt: 0,
            }),
            log_directory: pod.log_dir.to_string_lossy().into_owned(),
            labels: pod_labels(pod),
            annotations: HashMap::from([("kubernetes.io/config.source".to_string(), "api".to_string())]),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: pod.cgroup_parent.clone(),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(host_network()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// RunPodSandbox; returns the sandbox id.
    pub fn run_pod_sandbox(&mut self, pod: &PodSpec) -> Result<String, String> {
        let request = RunPodSandboxRequest { config: Some(Self::sandbox_config(pod)), runtime_handler: String::new() };
        let response = self.runtime.block_on(self.client.run_pod_sandbox(request)).map_err(|s| status_err("RunPodSandbox", s))?;
        Ok(response.into_inner().pod_sandbox_id)
    }

    /// CreateContainer in the sandbox `sandbox_id` (made from `pod`); returns the container id.
    pub fn create_container(&mut self, sandbox_id: &str, pod: &PodSpec, c: &ContainerSpec) -> Result<String, String> {
        let mut labels = pod_labels(pod);
        labels.insert("io.kubernetes.container.name".into(), c.name.clone());
        let config = ContainerConfig {
            metadata: Some(ContainerMetadata { name: c.name.clone(), attempt: 0 }),
            image: Some(ImageSpec { image: c.image.clone(), ..Default::default() }),
            command: c.command.clone(),
            labels,
            annotations: HashMap::from([
                ("io.kubernetes.container.restartCount".to_string(), "0".to_string()),
                ("io.kubernetes.container.terminationMessagePath".to_string(), "/dev/termination-log".to_string()),
            ]),
            // Relative to the sandbox's log directory, as kubelet sends it.
            log_path: format!("{}/0.log", c.name),
            linux: Some(LinuxContainerConfig {
                resources: Some(LinuxContainerResources {
                    memory_limit_in_bytes: c.memory_limit_bytes,
                    ..Default::default()
                }),
                security_context: Some(LinuxContainerSecurityContext {
                    capabilities: Some(Capability { add_capabilities: c.add_capabilities.clone(), ..Default::default() }),
                    namespace_options: Some(host_network()),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        };
        let request = CreateContainerRequest {
            pod_sandbox_id: sandbox_id.to_string(),
            config: Some(config),
            sandbox_config: Some(Self::sandbox_config(pod)),
        };
        let response = self.runtime.block_on(self.client.create_container(request)).map_err(|s| status_err("CreateContainer", s))?;
        Ok(response.into_inner().container_id)
    }

    /// StartContainer.
    pub fn start_container(&mut self, id: &str) -> Result<(), String> {
        let request = StartContainerRequest { container_id: id.to_string() };
        self.runtime.block_on(self.client.start_container(request)).map_err(|s| status_err("StartContainer", s))?;
        Ok(())
    }

    /// StopContainer, killing after `timeout_secs` (0: at once).
    pub fn stop_container(&mut self, id: &str, timeout_secs: i64) -> Result<(), String> {
        let request = StopContainerRequest { container_id: id.to_string(), timeout: timeout_secs };
        self.runtime.block_on(self.client.stop_container(request)).map_err(|s| status_err("StopContainer", s))?;
        Ok(())
    }

    /// RemoveContainer.
    pub fn remove_container(&mut self, id: &str) -> Result<(), String> {
        let request = RemoveContainerRequest { container_id: id.to_string() };
        self.runtime.block_on(self.client.remove_container(request)).map_err(|s| status_err("RemoveContainer", s))?;
        Ok(())
    }

    /// Ids of the containers in the sandbox `sandbox_id`.
    pub fn list_containers(&mut self, sandbox_id: &str) -> Result<Vec<String>, String> {
        let request = ListContainersRequest {
            filter: Some(ContainerFilter { pod_sandbox_id: sandbox_id.to_string(), ..Default::default() }),
        };
        let response = self.runtime.block_on(self.client.list_containers(request)).map_err(|s| status_err("ListContainers", s))?;
        Ok(response.into_inner().containers.into_iter().map(|c| c.id).collect())
    }

    /// ContainerStatus: the state's name (`CONTAINER_CREATED`, `CONTAINER_RUNNING`,
    /// `CONTAINER_EXITED`, `CONTAINER_UNKNOWN`), the exit code and the reason (e.g. `Completed`,
    /// `Error`, `OOMKilled`).
    pub fn container_state(&mut self, id: &str) -> Result<(String, i32, String), String> {
        let request = ContainerStatusRequest { container_id: id.to_string(), verbose: false };
        let response = self.runtime.block_on(self.client.container_status(request)).map_err(|s| status_err("ContainerStatus", s))?;
        let status = response.into_inner().status.ok_or_else(|| format!("CRI ContainerStatus {id}: no status"))?;
        let state = ContainerState::try_from(status.state).map_or_else(|_| format!("state {}", status.state), |s| s.as_str_name().to_string());
        Ok((state, status.exit_code, status.reason))
    }

    /// Polls ContainerStatus until the container has exited (or `timeout` passes); returns its
    /// exit code and reason.
    pub fn wait_exited(&mut self, id: &str, timeout: Duration) -> Result<(i32, String), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let (state, code, reason) = self.container_state(id)?;
            if state == ContainerState::ContainerExited.as_str_name() {
                return Ok((code, reason));
            }
            if Instant::now() >= deadline {
                return Err(format!("container {id} still {state} after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops and removes the sandbox `sandbox_id`, removing its containers first. Errors are
    /// ignored: this is cleanup, and must get as far as it can.
    pub fn remove_pod(&mut self, sandbox_id: &str) {
        for id in self.list_containers(sandbox_id).unwrap_or_default() {
            let _ = self.stop_container(&id, 0);
            let _ = self.remove_container(&id);
        }
        let _ = self.runtime.block_on(self.client.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: sandbox_id.to_string() }));
        let _ = self.runtime.block_on(self.client.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: sandbox_id.to_string() }));
    }
}

/// The labels kubelet puts on a pod's sandbox (and, with the container name, on its containers).
fn pod_labels(pod: &PodSpec) -> HashMap<String, String> {
    HashMap::from([
        ("io.kubernetes.pod.name".to_string(), pod.name.clone()),
        ("io.kubernetes.pod.namespace".to_string(), pod.namespace.clone()),
        ("io.kubernetes.pod.uid".to_string(), pod.uid.clone()),
    ])
}

/// kubelet's namespaces for a `hostNetwork: true` pod: node network, own pid, pod ipc.
fn host_network() -> NamespaceOption {
    NamespaceOption {
        network: NamespaceMode::Node as i32,
        pid: NamespaceMode::Container as i32,
        ipc: NamespaceMode::Pod as i32,
        ..Default::default()
    }
}
