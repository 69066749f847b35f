//! Zip entries in and out, bounded: at most [`MAX_ENTRIES`] entries and
//! [`MAX_TOTAL_BYTES`] unpacked, each entry read no further than its
//! share of that (a zip bomb's declared sizes are not believed), names
//! only relative paths inside the archive.

#[cfg(feature = "zip")]
use std::io::{Cursor, Read, Write};

#[cfg(feature = "zip")]
use crate::Error;

/// The most entries read from one zip.
pub const MAX_ENTRIES: usize = 100_000;
/// The most bytes one zip may unpack to (a board's images included).
pub const MAX_TOTAL_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// One file in a zip: its path (with `/`) and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[cfg(feature = "zip")]
/// Every file in `zip` (directories and unsafe names left out), or why not.
pub fn read(zip: &[u8]) -> Result<Vec<Entry>, Error> {
    read_bounded(zip, MAX_TOTAL_BYTES)
}

#[cfg(feature = "zip")]
pub(crate) fn read_bounded(zip: &[u8], max_total: u64) -> Result<Vec<Entry>, Error> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| Error::NotZip(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(Error::TooManyEntries { max: MAX_ENTRIES });
    }
    let mut entries = Vec::new();
    let mut total = 0u64;
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|e| Error::Entry { name: format!("#{index}"), reason: e.to_string() })?;
        if file.is_dir() {
            continue;
        }
        // Only names that stay inside the archive, with `/` between parts.
        let Some(path) = file.enclosed_name() else { continue };
        let name: Vec<String> = path
            .components()
            .filter_map(|part| match part {
                std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        if name.is_empty() {
            continue;
        }
        let name = name.join("/");
        let room = max_total - total;
        if file.size() > room {
            return Err(Error::TooBig { max: max_total });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(file.size().min(64 * 1024 * 1024)).unwrap_or(0));
        (&mut file)
            .take(room + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Entry { name: name.clone(), reason: e.to_string() })?;
        total += bytes.len() as u64;
        if total > max_total {
            return Err(Error::TooBig { max: max_total });
        }
        entries.push(Entry { name, bytes });
    }
    Ok(entries)
}

#[cfg(feature = "zip")]
/// A zip of `entries`: text deflated, pictures and history (already
/// compressed) stored.
pub fn write(entries: &[Entry]) -> Result<Vec<u8>, Error> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for entry in entries {
        let compressed = entry.name.ends_with(".canvas") || entry.name.ends_with(".json");
        let method =
            if compressed { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(entry.bytes.len() as u64 >= u64::from(u32::MAX));
        writer.start_file(entry.name.as_str(), options).map_err(|e| Error::Write(e.to_string()))?;
        writer.write_all(&entry.bytes).map_err(|e| Error::Write(e.to_string()))?;
    }
    let cursor = writer.finish().map_err(|e| Error::Write(e.to_string()))?;
    Ok(cursor.into_inner())
}

#[cfg(all(test, feature = "zip"))]
mod tests {
    use super::*;

    #[test]
    fn entries_go_in_and_come_out() {
        let entries = vec![
            Entry { name: "board.canvas".into(), bytes: b"{\"nodes\":[]}".to_vec() },
            Entry { name: "images/a.png".into(), bytes: vec![1, 2, 3] },
        ];
        let zip = write(&entries).expect("zip");
        assert_eq!(read(&zip).expect("read"), entries);
    }

    #[test]
    fn bad_zips_and_bombs_are_refused() {
        assert!(matches!(read(b"not a zip"), Err(Error::NotZip(_))));
        assert!(matches!(read(&[]), Err(Error::NotZip(_))));
        // A megabyte of zeros deflates to almost nothing: bounded to less.
        let bomb = write(&[Entry { name: "x.json".into(), bytes: vec![0; 1 << 20] }]).expect("zip");
        assert!(bomb.len() < 10_000);
        assert!(matches!(read_bounded(&bomb, 1000), Err(Error::TooBig { .. })));
    }

    #[test]
    fn names_that_leave_the_archive_are_left_out() {
        use zip::write::SimpleFileOptions;
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for name in ["../evil.png", "/etc/passwd", "ok/fine.png"] {
            writer.start_file(name, SimpleFileOptions::default()).expect("start");
            writer.write_all(b"x").expect("write");
        }
        let zip = writer.finish().expect("finish").into_inner();
        let names: Vec<String> = read(&zip).expect("read").into_iter().map(|e| e.name).collect();
        assert!(names.contains(&"ok/fine.png".to_owned()), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("..") || n.starts_with('/')), "{names:?}");
    }
}
