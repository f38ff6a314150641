//! A TCP proxy the test controls, to cut a link to Redis or PostgreSQL while
//! the gateway runs and see how it copes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards connections to `target` until cut.
pub struct ChaosProxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    target: Arc<Mutex<SocketAddr>>,
}

impl ChaosProxy {
    pub async fn start(target: SocketAddr) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let (generation, _) = watch::channel(0u64);
        let accept_cut = cut.clone();
        let accept_gen = generation.clone();
        let target = Arc::new(Mutex::new(target));
        let accept_target = target.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if accept_cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut killed = accept_gen.subscribe();
                let target = *accept_target.lock().unwrap();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = killed.changed() => {}
                    }
                });
            }
        });
        ChaosProxy {
            addr,
            cut,
            generation,
            target,
        }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Cuts every link and sends new ones to `target`: the server behind
    /// the address is replaced, as by a restart.
    pub fn switch_to(&self, target: SocketAddr) {
        *self.target.lock().unwrap() = target;
        self.generation.send_modify(|g| *g += 1);
    }
}

/// `host:port` of a `redis://host:port` URL.
pub fn redis_socket(url: &str) -> SocketAddr {
    let rest = url.trim_start_matches("redis://");
    let hostport = rest.split('/').next().unwrap();
    std::net::ToSocketAddrs::to_socket_addrs(hostport)
        .unwrap()
        .next()
        .unwrap()
}
