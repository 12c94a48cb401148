//! A TCP proxy on loopback that can be switched off (every open connection is cut and new ones
//! are refused) and on again: a service outage as the client sees it, without touching the
//! service other tests share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct ToggleProxy {
    pub addr: SocketAddr,
    enabled: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl ToggleProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let enabled = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let proxy = Self {
            addr,
            enabled: enabled.clone(),
            generation: generation.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if !enabled.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut = generation.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {},
                        _ = cut.changed() => {},
                    }
                });
            }
        });
        proxy
    }

    /// Cuts every connection and refuses new ones.
    pub fn disable(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }
}
