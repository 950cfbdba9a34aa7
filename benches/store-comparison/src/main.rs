// Store comparison (fjall against RocksDB) on the stateful benchmark's access pattern: the
// aggregation writes the groups a commit changed as one batch, and reads a
// group back when it is not cached. Prints ops/s and bytes on disk.
use std::time::Instant;

fn value(i: u64) -> Vec<u8> {
    let mut v = vec![1u8; 35];
    v.extend_from_slice(&i.to_le_bytes());
    v.push(0x81);
    v
}

fn key(k: u64) -> Vec<u8> {
    format!("\x01auction-{k:07}").into_bytes()
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        n += if m.is_dir() {
            dir_bytes(&e.path())
        } else {
            m.len()
        };
    }
    n
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

trait Store {
    fn batch(&self, kvs: &[(Vec<u8>, Vec<u8>)]);
    fn get(&self, k: &[u8]) -> bool;
    fn flush(&self);
}

struct Fjall(fjall::Database, fjall::Keyspace);
impl Store for Fjall {
    fn batch(&self, kvs: &[(Vec<u8>, Vec<u8>)]) {
        let mut b = self.0.batch().durability(Some(fjall::PersistMode::Buffer));
        for (k, v) in kvs {
            b.insert(&self.1, k.clone(), v.clone());
        }
        b.commit().unwrap();
    }
    fn get(&self, k: &[u8]) -> bool {
        self.1.get(k).unwrap().is_some()
    }
    fn flush(&self) {
        self.1.rotate_memtable_and_wait().unwrap();
    }
}

struct Rocks(rocksdb::DB);
impl Store for Rocks {
    fn batch(&self, kvs: &[(Vec<u8>, Vec<u8>)]) {
        let mut b = rocksdb::WriteBatch::default();
        for (k, v) in kvs {
            b.put(k, v);
        }
        let mut o = rocksdb::WriteOptions::default();
        o.set_sync(false);
        self.0.write_opt(b, &o).unwrap();
    }
    fn get(&self, k: &[u8]) -> bool {
        self.0.get_pinned(k).unwrap().is_some()
    }
    fn flush(&self) {
        self.0.flush().unwrap();
    }
}

fn run(name: &str, store: &dyn Store, dir: &std::path::Path, records: u64, keys: u64) {
    let mut seed = 0x9e3779b97f4a7c15u64;
    let t = Instant::now();
    // commits of 500 records: each changes the groups it touched
    let mut written = 0;
    let mut pending = std::collections::BTreeMap::new();
    for i in 0..records {
        let k = xorshift(&mut seed) % keys;
        pending.insert(key(k), value(i));
        if (i + 1) % 500 == 0 {
            let kvs: Vec<_> = std::mem::take(&mut pending).into_iter().collect();
            written += kvs.len();
            store.batch(&kvs);
        }
    }
    let write_s = t.elapsed().as_secs_f64();
    store.flush();
    let t = Instant::now();
    let reads = 200_000u64;
    let mut hits = 0;
    for _ in 0..reads {
        let k = xorshift(&mut seed) % (keys * 2); // half of them misses (new groups)
        hits += store.get(&key(k)) as u64;
    }
    let read_s = t.elapsed().as_secs_f64();
    std::thread::sleep(std::time::Duration::from_secs(2));
    println!(
        "{name:7} records {records:>9} keys {keys:>9}: {:>9.0} group writes/s, {:>9.0} reads/s ({hits} hits), {:>6.1} MB on disk ({:.1} B/key)",
        written as f64 / write_s,
        reads as f64 / read_s,
        dir_bytes(dir) as f64 / 1e6,
        dir_bytes(dir) as f64 / keys.min(records) as f64
    );
}

fn main() {
    for (records, keys) in [(1_000_000u64, 1_000u64), (2_000_000, 1_000_000)] {
        let d = tempfile_dir("fjall");
        {
            let db = fjall::Database::builder(&d)
                .cache_size(16 << 20)
                .open()
                .unwrap();
            let ks = db
                .keyspace("s", fjall::KeyspaceCreateOptions::default)
                .unwrap();
            run("fjall", &Fjall(db.clone(), ks.clone()), &d, records, keys);
            println!(
                "        fjall tables {:.1} MB, journal {:.1} MB",
                ks.disk_space() as f64 / 1e6,
                db.journal_disk_space().unwrap() as f64 / 1e6
            );
        }
        let d = tempfile_dir("rocks");
        {
            let mut o = rocksdb::Options::default();
            o.create_if_missing(true);
            let cache = rocksdb::Cache::new_lru_cache(16 << 20);
            let mut bo = rocksdb::BlockBasedOptions::default();
            bo.set_block_cache(&cache);
            o.set_block_based_table_factory(&bo);
            let db = rocksdb::DB::open(&o, &d).unwrap();
            run("rocksdb", &Rocks(db), &d, records, keys);
        }
    }
}

fn tempfile_dir(n: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("storecmp-{n}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
