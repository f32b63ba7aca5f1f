use super::*;
use crate::cli::NodeRole;

fn spec(id: &str) -> NodeSpec {
    NodeSpec {
        id: id.into(),
        role: NodeRole::City,
    }
}

fn sh_cluster(dir: &Path) -> Cluster {
    Cluster::new(PathBuf::from("/bin/sh"), dir).unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pairctl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn script(text: &str) -> Vec<String> {
    vec!["-c".into(), text.into()]
}

#[tokio::test]
async fn learns_the_address_after_garbage_and_stops_the_node() {
    let dir = temp_dir("announce");
    let mut cluster = sh_cluster(&dir);
    let body = "echo noise; echo oops >&2; echo 'LISTENING 127.0.0.1:4242'; exec sleep 30";
    cluster.spawn(spec("huangshi"), &script(body)).unwrap();
    cluster
        .await_announces(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        cluster.launched()[0].addr,
        "127.0.0.1:4242".parse().unwrap()
    );
    cluster.check_alive().unwrap();
    let stop = cluster.stop_all(Duration::from_secs(5)).await;
    assert!(stop.killed.is_empty(), "sleep stops on SIGTERM");
    assert_eq!(stop.failed.len(), 1, "killed by a signal is not success");
    // stderr went to the node's log (written before the announce).
    let log = std::fs::read_to_string(dir.join("huangshi.log")).unwrap();
    assert_eq!(log.trim(), "oops");
}

#[tokio::test]
async fn a_node_that_exits_before_announcing_is_named() {
    let dir = temp_dir("early-exit");
    let mut cluster = sh_cluster(&dir);
    cluster
        .spawn(spec("ezhou"), &script("echo hi; exit 3"))
        .unwrap();
    let err = cluster
        .await_announces(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("city ezhou") && err.contains("ezhou.log"),
        "{err}"
    );
    assert!(err.contains("closed its stdout"), "{err}");
}

#[tokio::test]
async fn a_silent_node_times_out() {
    let dir = temp_dir("silent");
    let mut cluster = sh_cluster(&dir);
    cluster
        .spawn(spec("xiaogan"), &script("exec sleep 30"))
        .unwrap();
    let err = cluster
        .await_announces(Instant::now() + Duration::from_millis(200))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("did not announce"), "{err}");
    cluster.stop_all(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_exited_node_is_reported_by_check_alive() {
    let dir = temp_dir("exited");
    let mut cluster = sh_cluster(&dir);
    cluster
        .spawn(
            spec("jingzhou"),
            &script("echo 'LISTENING 127.0.0.1:1'; exit 7"),
        )
        .unwrap();
    cluster
        .await_announces(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    // Polled until the exit is seen: how soon it is, is the OS's.
    let err = loop {
        match cluster.check_alive() {
            Ok(()) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(e) => break e.to_string(),
        }
    };
    assert!(
        err.contains("jingzhou") && err.contains("exited unexpectedly"),
        "{err}"
    );
}

#[tokio::test]
async fn a_node_that_dies_is_restarted_on_its_port_until_the_bound() {
    let dir = temp_dir("restart");
    let mut cluster = sh_cluster(&dir);
    // Dies twice, then stays up.
    let marker = dir.join("lives");
    let body = format!(
        "echo 'LISTENING 127.0.0.1:4343'; echo x >> {m}; [ $(wc -l < {m}) -ge 3 ] && exec sleep 30; exit 9",
        m = marker.display()
    );
    let args = vec!["-c".into(), body, "--listen".into(), "127.0.0.1:0".into()];
    cluster.spawn(spec("wuhan"), &args).unwrap();
    cluster
        .await_announces(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    let mut restarts = Vec::new();
    let mut failure = None;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        match cluster.supervise(1) {
            Ok(lines) => restarts.extend(lines),
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let err = failure;

    let err = err.expect("a second death is over a bound of 1");
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert!(
        restarts[0].contains("restarted on 127.0.0.1:"),
        "{restarts:?}"
    );
    assert!(err.contains("after 1 restarts"), "{err}");
    cluster.stop_all(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_node_ignoring_sigterm_is_killed() {
    let dir = temp_dir("stubborn");
    let mut cluster = sh_cluster(&dir);
    let body = "trap '' TERM; echo 'LISTENING 127.0.0.1:2'; while :; do sleep 0.1; done";
    cluster.spawn(spec("suizhou"), &script(body)).unwrap();
    cluster
        .await_announces(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    let stop = cluster.stop_all(Duration::from_millis(300)).await;
    assert_eq!(stop.killed, ["suizhou"]);
}
