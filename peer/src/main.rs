//! `corkboard-peer`: the command-line native peer. Offline commands change
//! or show a board in a data directory; `serve` and `sync` talk to peers.

use std::path::PathBuf;
use std::process::ExitCode;

use board_model::{Point, Size};
use clap::{Parser, Subcommand};
use peer::commands;
use peer::storage::DataDir;

#[derive(Debug, Parser)]
#[command(
    name = "corkboard-peer",
    version,
    about = "Corkboard's native peer: keeps boards on disk and online"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct Data {
    /// Data directory (default: the platform's data directory).
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct Network {
    /// Name shown to other peers.
    #[arg(long)]
    name: Option<String>,
    /// STUN or TURN server URL (repeatable), such as stun:stun.example.org:3478.
    #[arg(long = "ice-server", value_name = "URL")]
    ice_servers: Vec<String>,
    /// Username for the TURN servers.
    #[arg(long, default_value = "")]
    ice_username: String,
    /// Credential for the TURN servers.
    #[arg(long, default_value = "")]
    ice_credential: String,
    /// UDP address to bind for WebRTC (repeatable; default: all interfaces and loopback).
    #[arg(long = "udp", value_name = "ADDR")]
    udp: Vec<String>,
    /// A PEM file of CA certificates to trust for a `wss://`/`https://`
    /// signaling server, besides the system's (a private CA).
    #[arg(long, value_name = "FILE")]
    signal_ca: Option<PathBuf>,
    /// Connect through TURN relays only (the signaling server's or
    /// --ice-server's): peers never learn this machine's addresses.
    #[arg(long)]
    relay_only: bool,
}

impl Network {
    fn config(&self, signal: &str) -> Result<peer::node::Config, commands::CommandError> {
        // A CA file that cannot be used is said now, not after connecting.
        if let Some(ca) = &self.signal_ca {
            peer::signal_client::tls_config(Some(ca))
                .map_err(|error| commands::CommandError::Invalid(format!("--signal-ca: {error}")))?;
        }
        let mut transport = peer::transport::Options::default();
        if !self.udp.is_empty() {
            transport.udp_addrs = self.udp.clone();
        }
        transport.relay_only = self.relay_only;
        transport.ice_servers = self
            .ice_servers
            .iter()
            .map(|url| peer::transport::IceServer {
                urls: vec![url.clone()],
                username: self.ice_username.clone(),
                credential: self.ice_credential.clone(),
            })
            .collect();
        let name = self.name.clone().unwrap_or_else(|| format!("{} (corkboard-peer)", author()));
        Ok(peer::node::Config {
            signal_url: signal.to_owned(),
            signal_ca: self.signal_ca.clone(),
            relay: false,
            identity: board_model::presence::Identity { name, color: "#5b7fa6".into() },
            transport,
        })
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a board offline and print its share link.
    New {
        #[arg(long, default_value = "Untitled board")]
        title: String,
        #[command(flatten)]
        data: Data,
    },
    /// Add a note; prints the new card's id.
    AddNote {
        #[arg(long)]
        board: String,
        #[arg(long)]
        text: String,
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        x: f64,
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        y: f64,
        /// Add this many notes, printing each id once it is safely on disk.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        #[command(flatten)]
        data: Data,
    },
    /// Add an image from a file; prints the new card's id.
    AddImage {
        #[arg(long)]
        board: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        x: f64,
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        y: f64,
        #[command(flatten)]
        data: Data,
    },
    /// Move a card.
    Move {
        #[arg(long)]
        board: String,
        #[arg(long)]
        card: String,
        #[arg(long, allow_negative_numbers = true)]
        x: f64,
        #[arg(long, allow_negative_numbers = true)]
        y: f64,
        #[command(flatten)]
        data: Data,
    },
    /// Draw an edge from one card to another; prints the edge's id.
    Connect {
        #[arg(long)]
        board: String,
        /// The card the edge starts at.
        #[arg(long, value_name = "ID")]
        from: String,
        /// The card the edge points to.
        #[arg(long, value_name = "ID")]
        to: String,
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        data: Data,
    },
    /// Add a group (a labelled frame; the cards inside it belong to it);
    /// prints its id.
    AddGroup {
        #[arg(long)]
        board: String,
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        x: f64,
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        y: f64,
        #[arg(long, default_value_t = 480.0)]
        width: f64,
        #[arg(long, default_value_t = 320.0)]
        height: f64,
        #[command(flatten)]
        data: Data,
    },
    /// Make a new board from a JSON Canvas file (`.canvas` with its images
    /// beside it, or a zip of one); prints the new board's link. A
    /// `.corkboard` backup restores its board, or merges into the copy here.
    Import {
        #[arg(long)]
        file: PathBuf,
        /// The new board's title (default: the file's name).
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        data: Data,
    },
    /// Write a board out: `--format canvas` writes `OUT/board.canvas` and
    /// its images (JSON Canvas 1.0, as Obsidian reads it); `svg` and `png`
    /// a picture of the board; `corkboard` a backup with its whole history
    /// and images (it holds the board's key, as the link does).
    Export {
        #[arg(long)]
        board: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Canvas)]
        format: ExportFormat,
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        #[command(flatten)]
        data: Data,
    },
    /// Print the board.
    Show {
        #[arg(long)]
        board: String,
        /// Print JSON (stable key order).
        #[arg(long)]
        json: bool,
        /// Show the board as it was at this time: RFC 3339
        /// (2026-12-07T09:00:00Z) or seconds since the Unix epoch.
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        data: Data,
    },
    /// List the board's sessions of work: when, who, how many changes and cards.
    History {
        #[arg(long)]
        board: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: Data,
    },
    /// Stay online, syncing boards with their peers and serving images.
    Serve {
        /// The signaling server (http(s)://host:port or ws(s)://host:port/ws).
        #[arg(long)]
        signal: String,
        /// Boards to serve (default: every board in the data directory).
        #[arg(long)]
        board: Vec<String>,
        /// Serve as an always-on relay for boards with many people: link to
        /// every other relay and to a share of everyone else, and pass on
        /// their cursors and drags (rooms past 16 peers need at least one).
        #[arg(long)]
        relay: bool,
        #[command(flatten)]
        network: Network,
        #[command(flatten)]
        data: Data,
    },
    /// Sync one board with whoever is online, then exit: 0 once this copy
    /// and at least one peer hold the same board and its images.
    Sync {
        #[arg(long)]
        signal: String,
        #[arg(long)]
        board: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        #[command(flatten)]
        network: Network,
        #[command(flatten)]
        data: Data,
    },
    /// List the boards in the data directory.
    List {
        #[command(flatten)]
        data: Data,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ExportFormat {
    /// JSON Canvas 1.0: a folder with `board.canvas` and its images.
    Canvas,
    /// A picture of the whole board (SVG).
    Svg,
    /// A picture of the whole board (PNG, rendered from the SVG).
    Png,
    /// A `.corkboard` backup: the board's whole history and its images.
    Corkboard,
}

fn data_dir(data: &Data) -> Result<DataDir, commands::CommandError> {
    Ok(DataDir::open(data.data.clone().unwrap_or_else(DataDir::default_root))?)
}

fn author() -> String {
    peer::author_name()
}

/// `history` for people: a line per session.
fn print_history(value: &serde_json::Value) {
    let sessions = value["sessions"].as_array().map(Vec::as_slice).unwrap_or_default();
    if value["trimmed"].as_bool() == Some(true) {
        println!("(older history was trimmed away; it begins here)");
    }
    for session in sessions {
        let when = match (session["from"].as_str(), session["to"].as_str()) {
            (Some(from), Some(to)) if from == to => from.to_owned(),
            (Some(from), Some(to)) => format!("{from} – {to}"),
            _ => "time not recorded".to_owned(),
        };
        let authors: Vec<&str> = session["authors"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let who = if authors.is_empty() { "someone".to_owned() } else { authors.join(", ") };
        println!("{when}  {who}: {} changes, {} cards", session["changes"], session["cards"]);
    }
}

fn run(args: Args) -> Result<(), commands::CommandError> {
    match args.command {
        Command::New { title, data } => {
            let link = commands::new_board(&data_dir(&data)?, &title)?;
            println!("{}", link.to_app_link());
        }
        Command::AddNote { board, text, x, y, repeat, data } => {
            let ids = commands::add_notes(
                &data_dir(&data)?,
                &board,
                &text,
                Point { x, y },
                &author(),
                repeat,
                |id| {
                    println!("{id}");
                },
            )?;
            debug_assert_eq!(ids, repeat);
        }
        Command::AddImage { board, file, x, y, data } => {
            let id = commands::add_image(&data_dir(&data)?, &board, &file, Point { x, y }, &author())?;
            println!("{id}");
        }
        Command::Move { board, card, x, y, data } => {
            commands::move_card(&data_dir(&data)?, &board, &card, Point { x, y })?;
        }
        Command::Connect { board, from, to, label, data } => {
            let id = commands::connect(&data_dir(&data)?, &board, &from, &to, &label, &author())?;
            println!("{id}");
        }
        Command::AddGroup { board, label, x, y, width, height, data } => {
            let size = Size { width, height };
            let id = commands::add_group(&data_dir(&data)?, &board, &label, Point { x, y }, size, &author())?;
            println!("{id}");
        }
        Command::Import { file, data, .. } if commands::is_backup(&file) => {
            let restored = commands::import_backup(&data_dir(&data)?, &file)?;
            println!("{}", restored.link.to_app_link());
            eprintln!(
                "{} the backup: {} cards, {} images{}",
                if restored.merged { "merged" } else { "restored" },
                restored.cards,
                restored.images,
                if restored.bad_images > 0 {
                    format!("; left out {} damaged images", restored.bad_images)
                } else {
                    String::new()
                }
            );
        }
        Command::Import { file, title, data } => {
            let (link, report) =
                commands::import_canvas(&data_dir(&data)?, &file, title.as_deref(), &author())?;
            println!("{}", link.to_app_link());
            eprintln!(
                "imported {} cards and {} edges{}{}",
                report.cards,
                report.edges,
                if report.skipped > 0 {
                    format!("; left out {} unusable entries", report.skipped)
                } else {
                    String::new()
                },
                if report.missing_images.is_empty() {
                    String::new()
                } else {
                    format!("; images not found beside the canvas: {}", report.missing_images.join(", "))
                }
            );
        }
        Command::Export { board, format: ExportFormat::Canvas, out, data } => {
            let written = commands::export_canvas(&data_dir(&data)?, &board, &out)?;
            eprintln!("wrote {}", written.display());
        }
        Command::Export { board, format, out, data } => {
            let dir = data_dir(&data)?;
            match format {
                ExportFormat::Corkboard => commands::export_backup(&dir, &board, &out)?,
                ExportFormat::Svg => commands::export_picture(&dir, &board, &out, false)?,
                ExportFormat::Png | ExportFormat::Canvas => {
                    commands::export_picture(&dir, &board, &out, true)?
                }
            }
            eprintln!("wrote {}", out.display());
        }
        Command::History { board, json, data } => {
            let value = commands::history(&data_dir(&data)?, &board)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            } else {
                print_history(&value);
            }
        }
        Command::Show { board, json, at, data } => {
            let at = at.as_deref().map(commands::parse_time).transpose()?;
            let value = commands::show(&data_dir(&data)?, &board, at)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            } else {
                print_human(&value);
            }
        }
        Command::Serve { signal, board, relay, network, data } => {
            let dir = data_dir(&data)?;
            let links = if board.is_empty() {
                dir.boards()?.into_iter().map(|listed| listed.link).collect()
            } else {
                board
                    .iter()
                    .map(|text| board_key::link::ShareLink::parse(text))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let config = peer::node::Config { relay, ..network.config(&signal)? };
            runtime()?
                .block_on(peer::node::run(config, &dir, links, peer::node::Goal::Serve, None))
                .map_err(|e| commands::CommandError::Invalid(e.to_string()))?;
        }
        Command::Sync { signal, board, timeout, network, data } => {
            let dir = data_dir(&data)?;
            let link = board_key::link::ShareLink::parse(&board)?;
            let limit = Some(std::time::Duration::from_secs(timeout));
            runtime()?
                .block_on(peer::node::run(
                    network.config(&signal)?,
                    &dir,
                    vec![link],
                    peer::node::Goal::Sync,
                    limit,
                ))
                .map_err(|e| commands::CommandError::Invalid(e.to_string()))?;
            eprintln!("in sync");
        }
        Command::List { data } => {
            let dir = data_dir(&data)?;
            for listed in dir.boards()? {
                let title = dir
                    .read_board(&listed.link.board, peer::random::replica())
                    .map(|b| b.title())
                    .unwrap_or_else(|e| format!("(unreadable: {e})"));
                println!("{}  {}", listed.link.to_app_link(), title);
            }
        }
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, commands::CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| commands::CommandError::Invalid(format!("cannot start the async runtime: {e}")))
}

fn print_human(value: &serde_json::Value) {
    println!("{}", value["title"].as_str().unwrap_or_default());
    for card in value["cards"].as_array().into_iter().flatten() {
        let what = ["text", "url", "file_name", "label", "link", "path"]
            .iter()
            .find_map(|key| card[*key].as_str())
            .unwrap_or("");
        println!(
            "  {} {:5} at ({}, {}) {}",
            card["id"].as_str().unwrap_or_default(),
            card["kind"].as_str().unwrap_or_default(),
            card["x"],
            card["y"],
            what
        );
    }
    for edge in value["edges"].as_array().into_iter().flatten() {
        println!(
            "  {} edge  {} → {} {}",
            edge["id"].as_str().unwrap_or_default(),
            edge["from"].as_str().unwrap_or_default(),
            edge["to"].as_str().unwrap_or_default(),
            edge["label"].as_str().unwrap_or_default()
        );
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,peer=info,corkboard_peer=info,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,webrtc=error")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("corkboard-peer: {error}");
            ExitCode::FAILURE
        }
    }
}
