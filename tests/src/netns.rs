//! Networks on one machine, for the tests of real network paths: a "wan"
//! namespace holding the servers (signaling, TURN) and one namespace per
//! peer, each joined to the wan by a veth pair. The wan does not forward
//! (`ip_forward=0`), so two peers have no route to each other while both
//! reach the wan's own addresses; a [`Site::Nat`] peer sits behind its own
//! masquerading router namespace instead. The test process reaches the wan
//! through one more veth pair from its own namespace.
//!
//! Needs root (`ip netns`); [`Lab::unavailable`] says why not, for a visible
//! skip. Everything is torn down on drop.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU8, Ordering};

use anyhow::{Context, Result, bail, ensure};

use crate::harness::{self, Process};

/// Each lab in this process gets its own names and subnets.
static NEXT: AtomicU8 = AtomicU8::new(0);

/// How a peer is attached to the wan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// Straight on the wan (no NAT, but no route to the other peers).
    Wan,
    /// Behind its own router namespace that masquerades onto the wan, as a
    /// home router does.
    Nat,
}

/// A set of namespaces; deleted (with everything in them) on drop.
#[derive(Debug)]
pub struct Lab {
    tag: String,
    /// 10.`net`.0.0/16 holds every subnet of this lab.
    net: u8,
    namespaces: Vec<String>,
    /// The root end of the veth to the wan.
    root_link: String,
    /// Whether this namespace holds an nftables table of the lab's.
    root_rules: bool,
    peers: u8,
}

/// Subnets handed out in this process (labs made at once must differ).
static TAKEN: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// A 10.N.0.0/16 for a new lab, N in 200–249 (clear of the usual private
/// ranges' defaults), used neither by another lab of this process nor by
/// anything on this machine (a lab left behind by a killed run).
fn free_net(n: u8) -> Result<u8> {
    let output = Command::new("ip").args(["-o", "-4", "addr", "show"]).output().context("cannot run ip")?;
    let addresses = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut taken = TAKEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let start = (std::process::id() as u8).wrapping_add(n);
    let free = (0..50u8)
        .map(|i| 200 + start.wrapping_add(i) % 50)
        .find(|net| !taken.contains(net) && !addresses.contains(&format!("inet 10.{net}.")));
    let Some(net) = free else { bail!("no free 10.200-249 subnet for a network lab") };
    taken.push(net);
    Ok(net)
}

/// Runs `ip ARGS`, failing with its stderr.
fn ip(args: &[&str]) -> Result<()> {
    run("ip", args)
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let output =
        Command::new(program).args(args).output().with_context(|| format!("cannot run {program}"))?;
    ensure!(
        output.status.success(),
        "{program} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

impl Lab {
    /// Why labs cannot be made here (not root, no `ip`), or `None`.
    pub fn unavailable() -> Option<String> {
        if !nix::unistd::Uid::effective().is_root() {
            return Some("network namespaces need root".into());
        }
        let probe = format!("cbq{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        match ip(&["netns", "add", &probe]) {
            Ok(()) => {
                let _ = ip(&["netns", "del", &probe]);
                None
            }
            Err(error) => Some(format!("cannot make a network namespace: {error}")),
        }
    }

    /// A wan namespace reachable from this process, forwarding nothing:
    /// peers on it have no route to each other.
    pub fn new() -> Result<Lab> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}{}", std::process::id() % 100_000, n);
        let net = free_net(n)?;
        let mut lab =
            Lab { tag, net, namespaces: Vec::new(), root_link: String::new(), root_rules: false, peers: 0 };
        let wan = lab.add_namespace("w")?;
        ip(&["netns", "exec", &wan, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])?;
        let (root, inner) = (format!("cbr{}", lab.tag), format!("cbi{}", lab.tag));
        ip(&["link", "add", &root, "type", "veth", "peer", "name", &inner])?;
        lab.root_link = root.clone();
        ip(&["link", "set", &inner, "netns", &wan])?;
        ip(&["addr", "add", &format!("{}/24", lab.addr(0, 2)), "dev", &root])?;
        ip(&["link", "set", &root, "up"])?;
        ip(&["-n", &wan, "addr", "add", &format!("{}/24", lab.wan_ip()), "dev", &inner])?;
        ip(&["-n", &wan, "link", "set", &inner, "up"])?;
        Ok(lab)
    }

    /// Lets the wan route between its subnets, as the internet does between
    /// routers (peers behind [`Site::Nat`] still have no route to each
    /// other's private addresses, only to the routers' public ones).
    pub fn route_between_sites(&self) -> Result<()> {
        ip(&["netns", "exec", self.wan(), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    }

    fn addr(&self, subnet: u8, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, self.net, subnet, host)
    }

    /// The wan's address every namespace (and this process) reaches: where
    /// its servers listen.
    pub fn wan_ip(&self) -> Ipv4Addr {
        self.addr(0, 1)
    }

    pub fn wan(&self) -> &str {
        &self.namespaces[0]
    }

    fn add_namespace(&mut self, role: &str) -> Result<String> {
        let name = format!("cb{role}{}", self.tag);
        ip(&["netns", "add", &name])?;
        self.namespaces.push(name.clone());
        ip(&["-n", &name, "link", "set", "lo", "up"])?;
        Ok(name)
    }

    /// Joins `inner` (a namespace) to `outer` by a veth on subnet
    /// `subnet`: `outer` gets .1, `inner` .2 and a default route via .1.
    fn attach(&self, outer: &str, inner: &str, subnet: u8) -> Result<()> {
        let (out_end, in_end) = (format!("cbo{}s{subnet}", self.tag), format!("cbn{}s{subnet}", self.tag));
        ip(&["-n", outer, "link", "add", &out_end, "type", "veth", "peer", "name", &in_end])?;
        ip(&["-n", outer, "link", "set", &in_end, "netns", inner])?;
        ip(&["-n", outer, "addr", "add", &format!("{}/24", self.addr(subnet, 1)), "dev", &out_end])?;
        ip(&["-n", outer, "link", "set", &out_end, "up"])?;
        ip(&["-n", inner, "addr", "add", &format!("{}/24", self.addr(subnet, 2)), "dev", &in_end])?;
        ip(&["-n", inner, "link", "set", &in_end, "up"])?;
        ip(&["-n", inner, "route", "add", "default", "via", &self.addr(subnet, 1).to_string()])
    }

    /// A new peer namespace at `site`; its name (for [`in_namespace`]).
    pub fn peer(&mut self, site: Site) -> Result<String> {
        self.peers += 1;
        let subnet = self.peers * 2 - 1;
        let wan = self.wan().to_owned();
        let peer = self.add_namespace(&format!("p{}", self.peers))?;
        match site {
            Site::Wan => self.attach(&wan, &peer, subnet)?,
            Site::Nat => {
                let router = self.add_namespace(&format!("g{}", self.peers))?;
                self.attach(&wan, &router, subnet)?;
                self.attach(&router, &peer, subnet + 1)?;
                ip(&["netns", "exec", &router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])?;
                let outside = format!("cbn{}s{subnet}", self.tag);
                // Masquerade out, and drop what comes in unasked as home
                // routers do: an unanswered packet then leaves no mapping
                // behind that would make the router pick another port for
                // the peer's own first packet out (hole punching fails).
                let rules = format!(
                    "table ip nat {{\n chain postrouting {{\n type nat hook postrouting priority 100;\n \
                     oifname \"{outside}\" masquerade\n }}\n}}\n\
                     table inet filter {{\n chain input {{\n type filter hook input priority 0;\n \
                     iifname \"{outside}\" ct state new drop\n }}\n}}\n"
                );
                run("ip", &["netns", "exec", &router, "nft", &rules])
                    .context("the router's masquerade (nftables)")?;
            }
        }
        Ok(peer)
    }

    /// Drops every UDP packet leaving `namespace`: a network that lets only TCP out.
    pub fn block_udp(&self, namespace: &str) -> Result<()> {
        let rules = "table inet block {\n chain output {\n type filter hook output priority 0;\n \
                     oifname != \"lo\" meta l4proto udp drop\n }\n}\n";
        run("ip", &["netns", "exec", namespace, "nft", rules]).context("blocking UDP (nftables)")
    }

    /// Drops UDP from this process's namespace to the wan (only on the
    /// lab's own veth: the machine's other traffic is untouched), so a
    /// browser here reaches the wan over TCP only.
    pub fn block_udp_from_here(&mut self) -> Result<()> {
        let rules = format!(
            "table inet {} {{\n chain output {{\n type filter hook output priority 0;\n \
             oifname \"{}\" meta l4proto udp drop\n }}\n}}\n",
            self.nft_table(),
            self.root_link
        );
        run("nft", &[&rules]).context("blocking UDP (nftables)")?;
        self.root_rules = true;
        Ok(())
    }

    fn nft_table(&self) -> String {
        format!("cblab{}", self.tag)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its interfaces (and so the veth pairs).
        for namespace in self.namespaces.iter().rev() {
            let _ = ip(&["netns", "del", namespace]);
        }
        if !self.root_link.is_empty() {
            let _ = ip(&["link", "del", &self.root_link]);
        }
        if self.root_rules {
            let _ = run("nft", &["delete", "table", "inet", &self.nft_table()]);
        }
        TAKEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|net| *net != self.net);
    }
}

/// `command` made to run inside `namespace` (through `ip netns exec`).
pub fn in_namespace(namespace: &str, command: &Command) -> Command {
    let mut wrapped = Command::new("ip");
    wrapped.args(["netns", "exec", namespace]).arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

/// A real TURN server (coturn's `turnserver`) in the wan, checking
/// credentials in the TURN REST scheme against `secret`.
#[derive(Debug)]
pub struct Turn {
    process: Process,
    pub port: u16,
}

/// The realm the test TURN servers use.
pub const REALM: &str = "corkboard.test";

impl Turn {
    pub fn start(lab: &Lab, secret: &str) -> Result<Turn> {
        let Some(turnserver) = which("turnserver") else {
            bail!("no turnserver (Debian's coturn); ./x test installs it");
        };
        let port = 3478;
        let dir = harness::temp_dir("turn")?;
        let ip = lab.wan_ip().to_string();
        let mut command = Command::new(turnserver);
        command.args([
            "-n",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--listening-ip",
            &ip,
            "--relay-ip",
            &ip,
            "--listening-port",
            &port.to_string(),
            "--use-auth-secret",
            &format!("--static-auth-secret={secret}"),
            "--realm",
            REALM,
            "--fingerprint",
            "--no-multicast-peers",
            "--log-file",
            "stdout",
            "--simple-log",
            "--pidfile",
            &dir.join("turnserver.pid").to_string_lossy(),
            "--verbose",
        ]);
        let log = dir.join("turnserver.log");
        let mut process =
            Process::spawn_logged("turnserver", in_namespace(lab.wan(), &command), &log, false)?;
        harness::wait_ready(&mut process, "turnserver", || {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            ensure!(
                log.contains("Total UDP servers") || log.contains("listener opened on"),
                "not listening yet"
            );
            Ok(())
        })?;
        Ok(Turn { process, port })
    }

    /// What it has logged (allocations, refused credentials).
    pub fn log(&self) -> String {
        self.process.log()
    }
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.is_file())
}
