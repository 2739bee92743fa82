//! Durable state: a journal cut at every byte recovers exactly the operations that were
//! whole; a process killed with SIGKILL at random moments recovers the state of the calls it
//! acknowledged; a damaged or truncated snapshot is a typed error, never a panic or a wrong
//! state. The child process is this test binary itself, started with `IDSTITCH_CRASH_CHILD`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use idstitch::behaviour::{EventInput, EventKind};
use idstitch::touchpoint::{ConsentInput, ContactInput};
use idstitch::{
    Durable, DurableOptions, KindId, RecordInput, Resolver, SnapshotError, SourceId, SyncPolicy,
};

/// A fresh, empty directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idstitch-durable-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One step of a deterministic history: upserts with shared e-mails and phones (merges and
/// splits), removals, small bulk loads, and a source added on the way.
#[derive(Clone, Debug)]
enum Op {
    Upsert(RecordInput),
    Remove(u16, String),
    Ingest(Vec<RecordInput>),
    AddSource(String),
}

/// A small deterministic generator (SplitMix64), so parent and child agree on every step.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn record(seed: u64) -> RecordInput {
    let source = SourceId::from_raw((mix(seed) % 2) as u16);
    let mut r = RecordInput::new(source, format!("r{}", mix(seed ^ 1) % 40))
        .with_attribute("name", format!("Person {}", mix(seed ^ 2) % 30));
    if !mix(seed ^ 3).is_multiple_of(3) {
        r = r.with_key(KindId::EMAIL, format!("p{}@example.nl", mix(seed ^ 4) % 25));
    }
    if mix(seed ^ 5).is_multiple_of(2) {
        r = r.with_key(KindId::PHONE, format!("+3161234{:04}", mix(seed ^ 6) % 15));
    }
    if mix(seed ^ 7).is_multiple_of(5) {
        r = r.with_key(KindId::EMAIL, "not an e-mail");
    }
    r
}

fn op(i: u64) -> Op {
    op_sized(i, 30)
}

/// [`op`] with bulk loads of fewer than `bulk` records.
fn op_sized(i: u64, bulk: u64) -> Op {
    if i == 7 {
        return Op::AddSource("late".to_string());
    }
    match mix(i) % 10 {
        0..=5 => Op::Upsert(record(i)),
        6 | 7 => Op::Remove((mix(i ^ 9) % 2) as u16, format!("r{}", mix(i ^ 10) % 40)),
        _ => Op::Ingest((0..(mix(i ^ 11) % bulk)).map(|j| record(i * 1000 + j)).collect()),
    }
}

fn apply_plain(r: &mut Resolver, op: &Op) {
    match op {
        Op::Upsert(rec) => {
            r.upsert(rec).unwrap();
        }
        Op::Remove(s, id) => {
            let _ = r.remove(SourceId::from_raw(*s), id);
        }
        Op::Ingest(recs) => {
            r.ingest(recs);
        }
        Op::AddSource(name) => {
            r.add_source(name, 1).unwrap();
        }
    }
}

fn apply_durable(d: &mut Durable, op: &Op) {
    match op {
        Op::Upsert(rec) => {
            d.upsert(rec).unwrap();
        }
        Op::Remove(s, id) => {
            let _ = d.remove(SourceId::from_raw(*s), id);
        }
        Op::Ingest(recs) => {
            d.ingest(recs).unwrap();
        }
        Op::AddSource(name) => {
            d.add_source(name, 1).unwrap();
        }
    }
}

fn base() -> Resolver {
    let mut r = Resolver::builder().default_country("NL").hash_seed(3).build().unwrap();
    r.add_source("crm", 10).unwrap();
    r.add_source("web", 5).unwrap();
    r
}

/// Everything a host can see of a state: each record's customer, keys and attributes, the
/// sources, and the id the next new customer gets.
fn fingerprint(r: &Resolver) -> String {
    let mut out = BTreeMap::new();
    for (rec, customer) in r.assignments() {
        let name = r.source_name(rec.source).unwrap().to_string();
        let keys = r.record_keys(rec.source, rec.external_id).unwrap();
        let attributes: Vec<String> = r
            .record_attributes(rec.source, rec.external_id)
            .unwrap()
            .map(|a| format!("{}={}", a.name, a.value))
            .collect();
        out.insert(
            (name, rec.external_id.to_string()),
            format!("{customer} {keys:?} {attributes:?}"),
        );
    }
    let sources: Vec<String> = r.sources().map(|(_, n)| n.to_string()).collect();
    format!("{sources:?}\n{out:#?}")
}

/// The fingerprint after ops `0..n`, plus the id a new customer would get next.
fn reference(n: u64) -> String {
    reference_of(n, 30)
}

/// [`reference`] of the history [`op_sized`] gives with `bulk`.
fn reference_of(n: u64, bulk: u64) -> String {
    let mut r = base();
    for i in 0..n {
        apply_plain(&mut r, &op_sized(i, bulk));
    }
    let mut probe = r
        .upsert(
            RecordInput::new(SourceId::from_raw(0), "probe").with_key(KindId::EMAIL, "probe@x.nl"),
        )
        .unwrap();
    let next = probe.events.pop();
    format!("{}\nnext: {next:?}", fingerprint(&r))
}

fn durable_fingerprint(d: Durable) -> String {
    let mut r = d.into_resolver().unwrap();
    let mut probe = r
        .upsert(
            RecordInput::new(SourceId::from_raw(0), "probe").with_key(KindId::EMAIL, "probe@x.nl"),
        )
        .unwrap();
    let next = probe.events.pop();
    format!("{}\nnext: {next:?}", fingerprint(&r))
}

fn builder() -> idstitch::ResolverBuilder {
    let mut b = Resolver::builder();
    b.default_country("NL").hash_seed(3);
    b
}

/// A durable state with the two base sources.
fn open(dir: &Path, sync: SyncPolicy) -> Durable {
    let mut d = Durable::open_with(dir, &builder(), DurableOptions::default().sync(sync)).unwrap();
    d.ensure_source("crm", 10).unwrap();
    d.ensure_source("web", 5).unwrap();
    d
}

#[test]
fn a_journal_cut_at_every_byte_recovers_exactly_the_whole_operations() {
    let (n_ops, bulk) = (200, 4);
    let dir = temp_dir("cut");
    let mut d = open(&dir, SyncPolicy::Never);
    // Where each operation's last entry ends: an operation counts once all of it is there.
    let mut ends = vec![d.journal_len()];
    for i in 0..n_ops {
        apply_durable(&mut d, &op_sized(i, bulk));
        ends.push(d.journal_len());
    }
    drop(d);
    let journal = std::fs::read(dir.join("journal-00000000000000000000")).unwrap();
    let snapshot = std::fs::read(dir.join("snapshot")).unwrap();
    assert_eq!(journal.len() as u64, *ends.last().unwrap());
    let references: Vec<String> = (0..=n_ops).map(|n| reference_of(n, bulk)).collect();
    let cut_dir = temp_dir("cut-each");
    std::fs::write(cut_dir.join("snapshot"), &snapshot).unwrap();
    println!("{} bytes of journal", journal.len());
    for cut in ends[0] as usize..=journal.len() {
        std::fs::write(cut_dir.join("journal-00000000000000000000"), &journal[..cut]).unwrap();
        let d = Durable::open_with(&cut_dir, &builder(), DurableOptions::default()).unwrap();
        let whole = ends.iter().filter(|&&e| e <= cut as u64).count() - 1;
        let recovery = d.recovery().clone();
        if ends.contains(&(cut as u64)) {
            assert_eq!(recovery.torn_tail, None, "cut at {cut}, an operation's end");
            assert_eq!(recovery.uncommitted_records, 0, "cut at {cut}, an operation's end");
        }
        if let Some(torn) = &recovery.torn_tail {
            assert_eq!(torn.offset + torn.bytes, cut as u64, "the tail runs to the cut");
        }
        assert_eq!(
            durable_fingerprint(d),
            references[whole],
            "cut at byte {cut}: {whole} whole operations"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&cut_dir).unwrap();
}

#[test]
fn compaction_keeps_the_state_and_starts_an_empty_journal() {
    let dir = temp_dir("compact");
    let mut d = open(&dir, SyncPolicy::EveryCall);
    for i in 0..60 {
        apply_durable(&mut d, &op(i));
    }
    d.compact().unwrap();
    for i in 60..90 {
        apply_durable(&mut d, &op(i));
    }
    d.compact().unwrap();
    assert_eq!(d.journal_len(), 28, "only the segment header");
    drop(d);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"journal-00000000000000000002".to_string()), "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("journal-")).count(), 1, "{names:?}");
    let d = Durable::open_with(&dir, &builder(), DurableOptions::default()).unwrap();
    assert_eq!(d.recovery().generation, 2);
    assert_eq!(d.recovery().entries_replayed, 0);
    assert_eq!(durable_fingerprint(d), reference(90));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let dir = temp_dir("lock");
    let d = open(&dir, SyncPolicy::Never);
    let err = Durable::open_with(&dir, &builder(), DurableOptions::default()).unwrap_err();
    assert!(matches!(err, idstitch::StateError::Locked(_)), "{err}");
    drop(d);
    Durable::open_with(&dir, &builder(), DurableOptions::default()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn another_configuration_is_refused() {
    let dir = temp_dir("config");
    drop(open(&dir, SyncPolicy::Never));
    let mut other = builder();
    other.policy("email", idstitch::KindPolicy::new(50).limit(2));
    let err = Durable::open_with(&dir, &other, DurableOptions::default()).unwrap_err();
    assert!(
        matches!(err, idstitch::StateError::Snapshot(SnapshotError::ConfigMismatch { .. })),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn whether_a_kind_identifies_is_saved_and_must_match() {
    let mut host = builder();
    let policy = idstitch::KindPolicy::new(90);
    let spec = idstitch::KindSpec::new(idstitch::Normalizer::CustomerNo, policy);
    host.kind("legacy_no", spec.clone().identifying(true));
    let mut bytes = Vec::new();
    host.build().unwrap().write_snapshot(&mut bytes).unwrap();
    let restored = Resolver::read_snapshot(&bytes).unwrap();
    let legacy = restored.kind_id("legacy_no").unwrap();
    assert!(restored.kind_spec(legacy).unwrap().identifying);
    assert!(!restored.kind_spec(KindId::COOKIE).unwrap().identifying);
    let mut other = builder();
    other.kind("legacy_no", spec);
    let err = other.read_snapshot(&bytes).unwrap_err();
    assert!(
        matches!(err, SnapshotError::ConfigMismatch { ref what } if what.contains("legacy_no")),
        "{err}"
    );
}

/// A snapshot of a resolver with records, customers, refusals and removals.
fn snapshot_bytes(dir: &Path) -> Vec<u8> {
    let mut r = base();
    for i in 0..120 {
        apply_plain(&mut r, &op(i));
    }
    let path = dir.join("whole.snapshot");
    r.save_snapshot(&path).unwrap();
    let restored = Resolver::load_snapshot(&path).unwrap();
    assert_eq!(fingerprint(&restored), fingerprint(&r));
    std::fs::read(&path).unwrap()
}

#[test]
fn a_truncated_or_damaged_snapshot_is_a_typed_error() {
    let dir = temp_dir("corrupt");
    let bytes = snapshot_bytes(&dir);
    let path = dir.join("damaged.snapshot");
    for cut in 0..bytes.len() {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = Resolver::load_snapshot(&path).unwrap_err();
        assert!(
            matches!(err, SnapshotError::Truncated { .. } | SnapshotError::NotASnapshot),
            "cut at {cut}: {err}"
        );
    }
    let mut damaged = bytes.clone();
    for i in 0..bytes.len() {
        for bit in [0u8, 3, 7] {
            damaged[i] ^= 1 << bit;
            std::fs::write(&path, &damaged).unwrap();
            let err = Resolver::load_snapshot(&path).unwrap_err();
            assert!(
                matches!(
                    err,
                    SnapshotError::Checksum { .. }
                        | SnapshotError::NotASnapshot
                        | SnapshotError::Truncated { .. }
                        | SnapshotError::Corrupt { .. }
                        | SnapshotError::UnsupportedVersion { .. }
                ),
                "flip at {i}: {err}"
            );
            damaged[i] ^= 1 << bit;
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    std::fs::write(&path, &longer).unwrap();
    assert!(matches!(Resolver::load_snapshot(&path).unwrap_err(), SnapshotError::Corrupt { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The child side of the crash test: runs the history from `IDSTITCH_CRASH_START` under the
/// every-call policy, printing `ack i` once operation `i` has returned, compacting now and
/// then, until it is killed.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("IDSTITCH_CRASH_CHILD") else { return };
    let start: u64 = std::env::var("IDSTITCH_CRASH_START").unwrap().parse().unwrap();
    let mut d = open(Path::new(&dir), SyncPolicy::EveryCall);
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "open").unwrap();
    out.flush().unwrap();
    for i in start.. {
        apply_durable(&mut d, &op(i));
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
        if i % 37 == 0 {
            d.compact().unwrap();
        }
    }
}

#[test]
fn a_process_killed_at_random_moments_recovers_what_it_acknowledged() {
    let rounds: u64 =
        std::env::var("IDSTITCH_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = temp_dir("crash");
    let exe = std::env::current_exe().unwrap();
    let mut done = 0u64;
    let mut references: BTreeMap<u64, String> = BTreeMap::new();
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("IDSTITCH_CRASH_CHILD", &dir)
            .env("IDSTITCH_CRASH_START", done.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acked = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(i) = line.strip_prefix("ack ") {
                    acked = Some(i.parse::<u64>().unwrap());
                }
            }
            acked
        });
        // Killed after it opened, at a moment that moves from round to round.
        std::thread::sleep(Duration::from_millis(20 + mix(round) % 60));
        child.kill().unwrap();
        child.wait().unwrap();
        let acked = reader.join().unwrap().map_or(done, |i| i + 1);
        assert!(acked >= done);
        let d = Durable::open_with(&dir, &builder(), DurableOptions::default()).unwrap();
        let got = durable_fingerprint(d);
        // The operation in flight may have reached the journal before the kill.
        let now = [acked, acked + 1]
            .into_iter()
            .find(|&n| *references.entry(n).or_insert_with(|| reference(n)) == got);
        let Some(now) = now else {
            panic!("round {round}: recovered state is neither {acked} nor {} operations", acked + 1)
        };
        done = now;
    }
    assert!(done > rounds, "the child made progress: {done} operations in {rounds} rounds");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every file of a directory, read whole.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        out.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_pseudonymised_state_directory_holds_no_raw_key_value() {
    let dir = temp_dir("pseudonymised");
    let mut builder = builder();
    builder.pseudonymize("the publisher's secret");
    let raw = ["Jan.Jansen@Example.nl", "jan.jansen@example.nl", "+31612345678", "06-12345678"];
    {
        let mut d = Durable::open_with(&dir, &builder, DurableOptions::default()).unwrap();
        let crm = d.ensure_source("crm", 10).unwrap();
        d.upsert(
            RecordInput::new(crm, "C-1")
                .with_key(KindId::EMAIL, raw[0])
                .with_key(KindId::PHONE, raw[3]),
        )
        .unwrap();
        d.ingest([RecordInput::new(crm, "C-2").with_key(KindId::EMAIL, raw[1])]).unwrap();
        // In the journal only.
        let journal = all_bytes(&dir);
        assert!(raw.iter().all(|v| !contains(&journal, v)), "a raw value in the journal");
        d.compact().unwrap();
    }
    let files = all_bytes(&dir);
    assert!(raw.iter().all(|v| !contains(&files, v)), "a raw value in the snapshot");
    let d = Durable::open_with(&dir, &builder, DurableOptions::default()).unwrap();
    let crm = d.source_id("crm").unwrap();
    assert_eq!(d.customer_of(crm, "C-1"), d.customer_of(crm, "C-2"));
    assert_eq!(d.records_with_key(KindId::PHONE, raw[2]).len(), 1);
    drop(d);
    let err = Durable::open(&dir, DurableOptions::default()).unwrap_err();
    assert!(matches!(err, idstitch::StateError::Snapshot(SnapshotError::SecretRequired)), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bulk_load_reports_what_it_skipped_as_the_resolver_does() {
    let dir = temp_dir("skipped");
    let records = [
        RecordInput::new(SourceId::from_raw(0), "C-1").with_key(KindId::EMAIL, "a@example.nl"),
        RecordInput::new(SourceId::from_raw(0), "  "),
        RecordInput::new(SourceId::from_raw(7), "C-2"),
    ];
    let mut plain = base();
    let expected = plain.ingest(&records).report;
    let mut d = open(&dir, SyncPolicy::Never);
    let report = d.ingest(&records).unwrap().report;
    assert_eq!(report.n_records_skipped(), 2, "{report:?}");
    assert_eq!(report, expected);
    drop(d);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A bulk load whose commit never reached the journal is left out when the state is opened,
/// and stays out: the next process's own load must not pick its chunks up on a later replay.
#[test]
fn an_uncommitted_load_stays_out_after_the_next_load() {
    let dir = temp_dir("uncommitted");
    let crm = SourceId::from_raw(0);
    let ghosts: Vec<RecordInput> = (0..5000)
        .map(|i| {
            RecordInput::new(crm, format!("g{i}")).with_key(KindId::EMAIL, format!("g{i}@x.nl"))
        })
        .collect();
    let mut d = open(&dir, SyncPolicy::Never);
    d.ingest(&ghosts).unwrap();
    let full = d.journal_len();
    let segment = dir.join(format!("journal-{:020}", d.generation()));
    drop(d);
    // The process died while writing the commit.
    let file = std::fs::OpenOptions::new().write(true).open(&segment).unwrap();
    file.set_len(full - 1).unwrap();
    drop(file);

    let mut d = open(&dir, SyncPolicy::Never);
    assert_eq!(d.recovery().uncommitted_records, 5000);
    assert_eq!(d.n_records(), 0);
    let real = [RecordInput::new(crm, "r1").with_key(KindId::EMAIL, "r@x.nl")];
    d.ingest(&real).unwrap();
    let expected = fingerprint(&d);
    drop(d);

    let d = open(&dir, SyncPolicy::Never);
    assert_eq!(d.n_records(), 1, "the first load's chunks were replayed with the second's");
    assert_eq!(fingerprint(&d), expected);
    drop(d);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_erased_person_leaves_no_byte_in_the_state_directory_or_the_resolver() {
    let dir = temp_dir("erase");
    let person =
        ["anna.devries@example.nl", "+31687654321", "Anna de Vries", "CRM-ANNA-7", "NL-ANNA-9"];
    let other = ["bart.bakker@example.nl", "Bart Bakker", "CRM-BART-3"];
    let mut d = open(&dir, SyncPolicy::EveryCall);
    let (crm, web) = (d.source_id("crm").unwrap(), d.source_id("web").unwrap());
    d.upsert(
        RecordInput::new(crm, person[3])
            .with_key(KindId::EMAIL, person[0])
            .with_attribute("name", person[2]),
    )
    .unwrap();
    d.upsert(
        RecordInput::new(web, person[4])
            .with_key(KindId::PHONE, person[1])
            .with_key(KindId::EMAIL, person[0]),
    )
    .unwrap();
    d.upsert(
        RecordInput::new(crm, other[2])
            .with_key(KindId::EMAIL, other[0])
            .with_attribute("name", other[1]),
    )
    .unwrap();
    // Her events (one in the snapshot, one in the journal) and his: topics are kept as text.
    let read = |id: &str, topic: &str, event_id: &str| {
        EventInput::new(crm, id, EventKind::ARTICLE_READ, idstitch::Timestamp(1_767_225_600))
            .with_topic(topic)
            .with_value(120.0)
            .with_id(event_id)
    };
    let (her_topics, his_topic) = (["Anna's rose garden", "Anna's pruning diary"], "Bart's chess");
    d.record_event(&read(person[3], her_topics[0], "EV-ANNA-1")).unwrap();
    d.record_event(&read(other[2], his_topic, "EV-BART-1")).unwrap();
    d.compact().unwrap();
    d.upsert(RecordInput::new(web, "W-1").with_key(KindId::EMAIL, other[0])).unwrap();
    d.record_event(&read(person[3], her_topics[1], "EV-ANNA-2")).unwrap();
    // Her consent and a contact of a campaign only she was in (its name is about her).
    let at = idstitch::Timestamp(1_767_225_600);
    d.record_consent(&ConsentInput::granted(crm, person[3], "email", at)).unwrap();
    let mail = ContactInput::new(crm, person[3], "email", at).with_campaign(her_topics[1]);
    d.record_contact(&mail.with_id("SEND-ANNA-1")).unwrap();
    let bart = d.customer_of(crm, other[2]).unwrap();
    let anna = d.customer_of(crm, person[3]).unwrap();
    assert_eq!(d.customer_events(anna).unwrap().len(), 2);
    assert!(
        person.iter().chain(&her_topics).all(|v| contains(&all_bytes(&dir), v)),
        "the journal and snapshot hold her"
    );

    let erasure =
        d.erase(idstitch::EraseTarget::key(KindId::EMAIL, "Anna.deVries@Example.nl")).unwrap();
    assert_eq!(erasure.records.len(), 2);
    let files = all_bytes(&dir);
    let her_event_ids = ["EV-ANNA-1", "EV-ANNA-2", "SEND-ANNA-1"];
    for v in person.iter().chain(&her_topics).chain(&her_event_ids) {
        assert!(!contains(&files, v), "{v:?} left in the state directory");
        assert!(!format!("{:?}", *d).contains(v), "{v:?} left in the resolver");
    }
    assert!(!d.has_event_id(crm, "EV-ANNA-1") && !d.has_event_id(crm, "EV-ANNA-2"));
    assert!(!d.has_contact_id(crm, "SEND-ANNA-1"));
    assert!(other.iter().chain([&his_topic]).all(|v| contains(&files, v)), "the others stay");
    assert!(d.has_event_id(crm, "EV-BART-1"));
    assert_eq!(d.customer_of(crm, other[2]), Some(bart), "the others keep their ids");
    drop(d);
    let d = Durable::open_with(&dir, &builder(), DurableOptions::default()).unwrap();
    assert_eq!(d.customer_of(crm, person[3]), None);
    assert_eq!(d.customer_of(web, "W-1"), Some(bart));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Found by the deep crash run: a process killed while it created a journal segment left it
/// shorter than its header; opening padded it with zeros, and the next open found no header.
#[test]
fn a_segment_cut_inside_its_header_is_written_afresh() {
    let dir = temp_dir("short-header");
    drop(open(&dir, SyncPolicy::EveryCall));
    let segment = dir.join("journal-00000000000000000000");
    let header = std::fs::read(&segment).unwrap();
    for cut in 0..header.len() {
        std::fs::write(&segment, &header[..cut]).unwrap();
        let mut d = open(&dir, SyncPolicy::EveryCall);
        d.upsert(
            RecordInput::new(SourceId::from_raw(0), format!("r{cut}"))
                .with_key(KindId::EMAIL, "a@b.nl"),
        )
        .unwrap();
        drop(d);
        let d = open(&dir, SyncPolicy::EveryCall);
        assert_eq!(d.recovery().torn_tail, None, "cut at {cut}");
        assert!(d.record_idx(SourceId::from_raw(0), &format!("r{cut}")).is_some(), "cut at {cut}");
        drop(d);
        std::fs::write(&segment, &header).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What a host can see of behaviour: every customer's events (sorted), its stage as of a
/// fixed instant and its tracked stage, and the journey clock.
fn journey_fingerprint(r: &Resolver) -> String {
    use std::fmt::Write;
    let mut out = format!("clock {:?}\n", r.journey_clock());
    for (rec, customer) in r.assignments() {
        let mut events: Vec<String> = r
            .customer_events(customer)
            .unwrap()
            .iter()
            .map(|e| format!("{:?} {} {:?} {} {:?}", e.kind, e.at.0, e.topic, e.value, e.channel))
            .collect();
        events.sort();
        let stage = r.stage(customer, idstitch::Timestamp(1_800_000_000)).unwrap();
        let tracked = r.tracked_stage(customer);
        writeln!(out, "{} {customer} {stage} {tracked:?} {events:?}", rec.external_id).unwrap();
    }
    out
}

#[test]
fn events_and_the_journey_clock_survive_reopening_and_an_unfinished_call_is_left_out() {
    let dir = temp_dir("events");
    let mut d = open(&dir, SyncPolicy::EveryCall);
    let (crm, web) = (d.source_id("crm").unwrap(), d.source_id("web").unwrap());
    d.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "ann@example.nl")).unwrap();
    let day = 86_400;
    let t0 = 1_767_225_600;
    let ev = |id: &str, days: i64, n: u32| {
        EventInput::new(crm, id, EventKind::ORDER, idstitch::Timestamp(t0 + days * day))
            .with_value(f64::from(n))
            .with_topic("bikes")
            .with_id(format!("o{n}"))
    };
    d.record_events([ev("C-1", 1, 1), ev("C-1", 2, 2), ev("C-9", 3, 3)]).unwrap();
    d.advance_to(idstitch::Timestamp(t0 + 10 * day)).unwrap();
    d.record_event(&EventInput::new(web, "W-1", EventKind::PAGE_VIEW, idstitch::Timestamp(t0)))
        .unwrap();
    assert!(d.record_event(&ev("C-1", 4, 4).with_value(-1.0)).is_err(), "refused, not written");
    let before = journey_fingerprint(&d);
    let journal = d.journal_len();
    drop(d);
    let d = open(&dir, SyncPolicy::EveryCall);
    assert_eq!(journey_fingerprint(&d), before);
    // A record_events call cut before its commit: its chunk is left out and cut off.
    drop(d);
    let path = dir.join("journal-00000000000000000000");
    let mut bytes = std::fs::read(&path).unwrap();
    let mut w = open(&temp_dir("events-scratch"), SyncPolicy::Never);
    let scratch_start = w.journal_len();
    w.record_events([ev("C-1", 5, 5)]).unwrap();
    let scratch =
        std::fs::read(temp_dir_path("events-scratch").join("journal-00000000000000000000"))
            .unwrap();
    drop(w);
    // The chunk entry without the commit entry that follows it (5 bytes + 8 framing).
    let commit_len = 8 + 1;
    bytes.extend_from_slice(&scratch[scratch_start as usize..scratch.len() - commit_len]);
    std::fs::write(&path, &bytes).unwrap();
    let d = open(&dir, SyncPolicy::EveryCall);
    assert_eq!(d.recovery().uncommitted_events, 1);
    assert_eq!(d.journal_len(), journal);
    assert_eq!(journey_fingerprint(&d), before);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(temp_dir_path("events-scratch")).unwrap();
}

fn temp_dir_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("idstitch-durable-{name}-{}", std::process::id()))
}
