use super::*;

fn keys(entries: Vec<Result<Entry, StateError>>) -> Vec<Vec<u8>> {
    entries.into_iter().map(|e| e.unwrap().0).collect()
}

/// What every backend must do alike.
fn behaves_as_a_store(store: &mut dyn StateStore) {
    assert_eq!(store.get(b"a").unwrap(), None);
    store.put(b"a", b"1").unwrap();
    store.put(b"ab", b"2").unwrap();
    store.put(b"ac", b"3").unwrap();
    store.put(b"b", b"4").unwrap();
    store.put(b"a\xff", b"5").unwrap();
    store.put(b"a", b"one").unwrap();
    assert_eq!(store.get(b"a").unwrap(), Some(b"one".to_vec()));
    assert_eq!(
        keys(store.prefix(b"a").collect()),
        vec![
            b"a".to_vec(),
            b"ab".to_vec(),
            b"ac".to_vec(),
            b"a\xff".to_vec()
        ]
    );
    assert_eq!(
        keys(store.range(b"ab", Some(b"b")).collect()),
        vec![b"ab".to_vec(), b"ac".to_vec(), b"a\xff".to_vec()]
    );
    assert_eq!(
        keys(store.range(b"b", Some(b"a")).collect()),
        Vec::<Vec<u8>>::new()
    );
    assert_eq!(keys(store.range(b"ac", None).collect()).len(), 3);
    store
        .write(vec![
            Write::Delete(b"ab".to_vec()),
            Write::Put(b"c".to_vec(), b"6".to_vec()),
            Write::Delete(b"missing".to_vec()),
        ])
        .unwrap();
    assert_eq!(store.get(b"ab").unwrap(), None);
    assert_eq!(store.get(b"c").unwrap(), Some(b"6".to_vec()));
    store.delete(b"c").unwrap();
    assert_eq!(keys(store.range(b"", None).collect()).len(), 4);
    store.clear().unwrap();
    assert_eq!(keys(store.range(b"", None).collect()).len(), 0);
}

#[test]
fn the_memory_store_behaves_as_a_store() {
    let mut store = MemStore::new();
    behaves_as_a_store(&mut store);
    store.put(b"k", b"vv").unwrap();
    store.put(b"k", b"v").unwrap();
    assert_eq!(store.size_bytes(), 2);
}

#[test]
fn the_disk_store_behaves_as_a_store_and_keeps_its_data_when_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let config = StateDbConfig::within(dir.path().join("state"), 8 << 20);
    {
        let db = StateDb::open(config.clone()).unwrap();
        let mut store = db
            .store("_confluent-ksql-default_query_CTAS_T_1-0")
            .unwrap();
        behaves_as_a_store(&mut store);
        for i in 0..10_000u32 {
            store.put(&i.to_be_bytes(), &[7; 40]).unwrap();
        }
        let mut other = db.store("other").unwrap();
        other.put(b"x", b"y").unwrap();
        db.drop_store("other").unwrap();
        assert_eq!(
            db.store_names(),
            vec!["_confluent-ksql-default_query_CTAS_T_1-0"]
        );
    }
    let db = StateDb::open(config).unwrap();
    let store = db
        .store("_confluent-ksql-default_query_CTAS_T_1-0")
        .unwrap();
    assert_eq!(store.range(b"", None).count(), 10_000);
    assert_eq!(
        store.get(&9_999u32.to_be_bytes()).unwrap(),
        Some(vec![7; 40])
    );
    let other = db.store("other").unwrap();
    assert_eq!(other.get(b"x").unwrap(), None);
}

#[test]
fn a_prefix_of_all_ff_bytes_has_no_end() {
    assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
    assert_eq!(prefix_end(b"\xff\xff"), None);
    assert_eq!(prefix_end(b""), None);
    let mut store = MemStore::new();
    store.put(b"\xff\xff\x01", b"1").unwrap();
    store.put(b"\xfe", b"2").unwrap();
    assert_eq!(
        keys(store.prefix(b"\xff\xff").collect()),
        vec![b"\xff\xff\x01".to_vec()]
    );
}

#[test]
fn a_checkpoint_survives_a_reload_and_a_damaged_one_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q").join("store.checkpoint");
    let mut cp = Checkpoint::load(&path).unwrap();
    assert_eq!(cp.offset(0), None);
    cp.set(0, 42);
    cp.set(3, 7);
    cp.save().unwrap();
    cp.remove(3);
    let back = Checkpoint::load(&path).unwrap();
    assert_eq!((back.offset(0), back.offset(3)), (Some(42), Some(7)));
    std::fs::write(&path, "0 42\nthree 7\n").unwrap();
    let err = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("three 7"), "{err}");
    back.delete().unwrap();
    assert_eq!(Checkpoint::load(&path).unwrap().offset(0), None);
}

#[test]
fn a_store_name_longer_than_fjall_takes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = StateDb::open(StateDbConfig::within(dir.path(), 4 << 20)).unwrap();
    let err = db.store(&"q".repeat(300)).err().unwrap().to_string();
    assert!(err.contains("not usable"), "{err}");
}

#[test]
fn a_store_s_checkpoint_goes_with_it_and_vouches_for_nothing_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = StateDb::open(StateDbConfig::within(dir.path().join("state"), 8 << 20)).unwrap();
    let mut store = db.store("s").unwrap();
    store.put(b"k", b"v").unwrap();
    let mut checkpoint = db.checkpoint("s").unwrap();
    checkpoint.set(0, 42);
    checkpoint.save().unwrap();
    assert_eq!(db.checkpoint("s").unwrap().offset(0), Some(42));
    // a checkpoint whose store is gone (a deletion cut short) is empty
    let mut orphan = db.checkpoint("gone").unwrap();
    orphan.set(0, 7);
    orphan.save().unwrap();
    assert_eq!(db.checkpoint("gone").unwrap().offset(0), None);
    // dropping a store deletes its checkpoint file too
    drop(store);
    assert!(db.drop_store("s").unwrap());
    assert!(!db.checkpoint_path("s").exists());
    assert!(!db.drop_store("s").unwrap());
    assert!(!db.drop_store("gone").unwrap());
    assert!(!db.checkpoint_path("gone").exists());
}
