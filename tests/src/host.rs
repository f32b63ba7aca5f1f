//! One node in this process, on a thread and a runtime of its own, so a test
//! can crash it the way `kill -9` would and start it again on its data
//! directory and port.
//!
//! A crash drops the node's runtime: every task it spawned (the server, the
//! driver, the courier's sends) stops at whatever await it had reached, with
//! nothing run after. That is what the nodes' durability must survive: the
//! state saved when the last change was acknowledged, nothing more.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use node_kit::server::RunningNode;
use tokio::sync::oneshot;

/// How to start a node (its listen address is pinned to the first bound
/// port on restart, so peers find it where it was).
#[derive(Debug, Clone)]
pub enum NodeSpec {
    Central(central::CentralConfig),
    Province(province_node::ProvinceConfig),
    City(city_node::CityConfig),
}

impl NodeSpec {
    pub fn id(&self) -> String {
        match self {
            NodeSpec::Central(_) => "central".into(),
            NodeSpec::Province(c) => c.province_id.clone(),
            NodeSpec::City(c) => c.city_id.clone(),
        }
    }

    fn pin_listen_addr(&mut self, addr: SocketAddr) {
        let listen = match self {
            NodeSpec::Central(c) => &mut c.listen_addr,
            NodeSpec::Province(c) => &mut c.listen_addr,
            NodeSpec::City(c) => &mut c.listen_addr,
        };
        *listen = addr.to_string();
    }

    async fn start(self) -> Result<RunningNode, String> {
        match self {
            NodeSpec::Central(c) => central::start(c).await,
            NodeSpec::Province(c) => province_node::start(c).await,
            NodeSpec::City(c) => city_node::start(c).await,
        }
    }
}

enum Stop {
    Crash,
    Graceful,
}

/// A node running on its own thread.
pub struct NodeHost {
    spec: NodeSpec,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<Stop>>,
    thread: Option<JoinHandle<()>>,
    /// Times this node was crashed and started again.
    pub restarts: u32,
}

impl NodeHost {
    /// Starts the node and waits until it listens.
    pub async fn start(spec: NodeSpec) -> Result<NodeHost, String> {
        let (addr, stop, thread) = launch(spec.clone()).await?;
        let mut spec = spec;
        spec.pin_listen_addr(addr);
        Ok(NodeHost {
            spec,
            addr,
            stop: Some(stop),
            thread: Some(thread),
            restarts: 0,
        })
    }

    pub fn id(&self) -> String {
        self.spec.id()
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn is_running(&self) -> bool {
        self.stop.is_some()
    }

    /// Kills the node at whatever point it has reached.
    pub async fn crash(&mut self) {
        self.halt(Stop::Crash).await;
    }

    /// Stops the node cleanly.
    pub async fn stop(&mut self) {
        self.halt(Stop::Graceful).await;
    }

    /// Starts the node again on its data directory and port.
    pub async fn restart(&mut self) -> Result<(), String> {
        assert!(!self.is_running(), "restart of a running node");
        let (addr, stop, thread) = launch(self.spec.clone()).await?;
        assert_eq!(addr, self.addr, "restarted on its old port");
        self.stop = Some(stop);
        self.thread = Some(thread);
        self.restarts += 1;
        Ok(())
    }

    async fn halt(&mut self, how: Stop) {
        let Some(stop) = self.stop.take() else { return };
        let _ = stop.send(how);
        if let Some(thread) = self.thread.take() {
            // Joining blocks; the node's runtime winds down in moments.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for NodeHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Stop::Crash);
        }
    }
}

/// Starts `spec` on a new thread with its own runtime; returns when it
/// listens (or failed to start).
async fn launch(
    spec: NodeSpec,
) -> Result<(SocketAddr, oneshot::Sender<Stop>, JoinHandle<()>), String> {
    let (started_tx, started_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<Stop>();
    let name = format!("node-{}", spec.id());
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(move || run_node(spec, started_tx, stop_rx))
        .map_err(|e| format!("cannot spawn a node thread: {e}"))?;
    let addr = started_rx
        .await
        .map_err(|_| "node thread ended before it started".to_string())??;
    Ok((addr, stop_tx, thread))
}

fn run_node(
    spec: NodeSpec,
    started: oneshot::Sender<Result<SocketAddr, String>>,
    stop: oneshot::Receiver<Stop>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = started.send(Err(format!("runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        let node = match spec.start().await {
            Ok(node) => node,
            Err(e) => {
                let _ = started.send(Err(e));
                return;
            }
        };
        let _ = started.send(Ok(node.addr));
        // A dropped sender (the test ended) is a crash too.
        if let Ok(Stop::Graceful) = stop.await {
            let _ = node.stop().await;
        }
    });
    // Dropping the runtime cancels every task the node spawned, and
    // closes its sockets before the thread ends.
    drop(runtime);
}
