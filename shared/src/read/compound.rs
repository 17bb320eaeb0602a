//! The streams of an OLE compound file (the container of an .xls), found
//! the way calamine finds them, so that the pre-scan reads the very bytes
//! calamine will read. The `cfb` crate refused files calamine reads (a
//! directory whose names are out of order, an unusual byte-order mark), and
//! walked the directory tree where calamine takes the first entry of a name.
//! Unlike calamine, every chain here is bounded by the sectors the file
//! holds, so a looping chain is an error, not a hang or an allocation of
//! the size a directory entry declares.

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const DIFSECT: u32 = 0xFFFF_FFFC;
const RESERVED: u32 = 0xFFFF_FFFA;
const MINI_SECTOR: usize = 64;
/// Streams shorter than this live in the mini stream.
const MINI_CUTOFF: u64 = 4096;

pub(super) struct Compound<'a> {
    /// The sectors: the file after its header.
    sectors: &'a [u8],
    sector_size: usize,
    /// The highest sector id calamine accepts.
    max_id: u32,
    fat: Vec<u32>,
    mini_fat: Vec<u32>,
    mini_stream: Vec<u8>,
    entries: Vec<Entry>,
}

struct Entry {
    name: String,
    start: u32,
    len: u64,
}

impl<'a> Compound<'a> {
    pub fn open(bytes: &'a [u8]) -> Result<Self, String> {
        let header = bytes
            .get(..512)
            .ok_or("the file is too short for an Office document")?;
        let sector_size = match u16_at(header, 30) {
            9 => 512,
            12 => 4096,
            s => return Err(format!("unknown sector shift {s}")),
        };
        if u16_at(header, 32) != 6 {
            return Err("unknown mini sector shift".into());
        }
        let sectors = bytes
            .get(sector_size..)
            .ok_or("the file ends inside its header")?;
        let version = u16_at(header, 26);
        let mut file = Compound {
            sectors,
            sector_size,
            max_id: u32::try_from(bytes.len() / sector_size).unwrap_or(u32::MAX),
            fat: Vec::new(),
            mini_fat: Vec::new(),
            mini_stream: Vec::new(),
            entries: Vec::new(),
        };
        // The sector ids of the FAT: 109 in the header, then DIFAT sectors.
        let mut difat: Vec<u32> = u32s(&header[76..512]).collect();
        let mut next = u32_at(header, 68);
        let mut steps = 0usize;
        while next < RESERVED {
            steps += 1;
            if steps > file.sector_count() {
                return Err("the sector allocation table loops".into());
            }
            difat.extend(u32s(file.sector(next)?));
            next = difat
                .pop()
                .ok_or("the sector allocation table is cut short")?;
        }
        let fat_sectors: Vec<u32> = difat.into_iter().filter(|&id| id < DIFSECT).collect();
        if fat_sectors.len() > file.sector_count() {
            return Err("the sector allocation table is longer than the file".into());
        }
        for id in fat_sectors {
            let sector = file.sector(id)?;
            file.fat.extend(u32s(sector));
        }
        let directory = file.chain(u32_at(header, 48), u64::MAX)?;
        file.entries = directory
            .chunks_exact(128)
            .map(|raw| Entry::parse(raw, sector_size))
            .collect();
        // calamine unwraps every entry's size into a usize: in wasm32 a
        // size past 4 GiB would panic (and abort the worker).
        if file.entries.iter().any(|e| usize::try_from(e.len).is_err()) {
            return Err("a directory entry declares an impossible size".into());
        }
        let root = file.entries.first().ok_or("the directory is empty")?;
        if version != 3 && root.start == ENDOFCHAIN {
            return Err("the directory is empty".into());
        }
        if u32_at(header, 64) > 0 {
            let (start, len) = (root.start, root.len);
            file.mini_stream = file.chain(start, len)?;
            let mini_fat_len = u64::from(u32_at(header, 64)) * sector_size as u64;
            file.mini_fat = u32s(&file.chain(u32_at(header, 60), mini_fat_len)?).collect();
        }
        Ok(file)
    }

    /// Whether the directory has an entry of this name (ASCII case ignored).
    pub fn has(&self, name: &str) -> bool {
        self.entry(name).is_some()
    }

    /// The stream of the first entry of this name; `None` if there is none.
    pub fn stream(&self, name: &str) -> Option<Result<Vec<u8>, String>> {
        let entry = self.entry(name)?;
        Some(if entry.len < MINI_CUTOFF {
            self.mini_chain(entry.start, entry.len)
        } else {
            self.chain(entry.start, entry.len)
        })
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
    }

    fn sector_count(&self) -> usize {
        self.max_id as usize + 1
    }

    /// One sector; the file's last may be short, as calamine reads it.
    fn sector(&self, id: u32) -> Result<&'a [u8], String> {
        let start = (id as usize).saturating_mul(self.sector_size);
        if id > self.max_id || start >= self.sectors.len() {
            return Err(format!("sector {id} is past the end of the file"));
        }
        let end = (start + self.sector_size).min(self.sectors.len());
        Ok(&self.sectors[start..end])
    }

    /// The bytes of a chain of sectors, up to `len`: a chain visits each
    /// sector at most once, so one longer than the file loops.
    fn chain(&self, mut id: u32, len: u64) -> Result<Vec<u8>, String> {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        let mut steps = 0usize;
        while id != ENDOFCHAIN {
            steps += 1;
            if steps > self.sector_count() {
                return Err("a chain of sectors loops".into());
            }
            let sector = self.sector(id)?;
            let take = sector.len().min(len - out.len());
            out.extend_from_slice(&sector[..take]);
            if out.len() >= len {
                break;
            }
            id = *self
                .fat
                .get(id as usize)
                .ok_or_else(|| format!("sector {id} is not in the allocation table"))?;
        }
        Ok(out)
    }

    /// The same within the mini stream, in sectors of 64 bytes.
    fn mini_chain(&self, mut id: u32, len: u64) -> Result<Vec<u8>, String> {
        let len = len as usize; // under MINI_CUTOFF
        let mut out = Vec::with_capacity(len);
        let count = self.mini_stream.len() / MINI_SECTOR + 1;
        let mut steps = 0usize;
        while id != ENDOFCHAIN && out.len() < len {
            steps += 1;
            let start = (id as usize).saturating_mul(MINI_SECTOR);
            if steps > count || start >= self.mini_stream.len() {
                return Err("a chain of mini sectors is damaged".into());
            }
            let sector =
                &self.mini_stream[start..(start + MINI_SECTOR).min(self.mini_stream.len())];
            out.extend_from_slice(&sector[..sector.len().min(len - out.len())]);
            if out.len() >= len {
                break;
            }
            id = *self
                .mini_fat
                .get(id as usize)
                .ok_or_else(|| format!("mini sector {id} is not in the allocation table"))?;
        }
        Ok(out)
    }
}

impl Entry {
    /// calamine's reading: the name up to its first NUL, the start sector,
    /// and the size (32 bits in files of 512-byte sectors).
    fn parse(raw: &[u8], sector_size: usize) -> Entry {
        let units = raw[..64]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]));
        let name: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .take_while(|&c| c != '\0')
            .collect();
        let len = if sector_size == 512 {
            u64::from(u32_at(raw, 120))
        } else {
            u64::from_le_bytes(raw[120..128].try_into().unwrap_or_default())
        };
        Entry {
            name,
            start: u32_at(raw, 116),
            len,
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}
