//! `idstitch predict` on the CDNOW sample, mapped from CSV files this test writes: it prints
//! the paper's fit and writes one row per customer that agrees with the library; bad
//! arguments and data that cannot be fitted are one line on stderr.
#![cfg(feature = "cli")]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use idstitch::mapping::Mapping;
use idstitch::predict::TimeUnit;
use idstitch::Timestamp;

fn idstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idstitch")).args(args).output().expect("the binary runs")
}

/// A directory with a mapping of the CDNOW customers (`customers.csv`) and their orders
/// (`orders.csv`, dates as YYYY-MM-DD: midnight UTC), the first `lines` transactions.
fn cdnow_mapping(name: &str, lines: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cdnow/CDNOW_sample.txt");
    let text = std::fs::read_to_string(sample).unwrap();
    let (mut customers, mut orders) =
        (String::from("id\n"), String::from("customer,date,amount\n"));
    let mut last = String::new();
    for line in text.lines().take(lines) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f[1] != last {
            writeln!(customers, "{}", f[1]).unwrap();
            last = f[1].to_string();
        }
        let d = f[2];
        writeln!(orders, "{},{}-{}-{},{}", f[1], &d[..4], &d[4..6], &d[6..], f[4]).unwrap();
    }
    std::fs::write(dir.join("customers.csv"), customers).unwrap();
    std::fs::write(dir.join("orders.csv"), orders).unwrap();
    let mapping = r#"
[[source]]
name = "cdnow"
path = "customers.csv"
id = "id"
keys = { customer_no = "id" }

[[events]]
source = "cdnow"
path = "orders.csv"
record = "customer"
kind_is = "order"
at = "date"
value = "amount"
"#;
    std::fs::write(dir.join("cdnow.toml"), mapping).unwrap();
    dir.join("cdnow.toml")
}

#[test]
fn predict_prints_the_papers_fit_and_writes_every_buyer() {
    let mapping = cdnow_mapping("cli-predict-cdnow", usize::MAX);
    let csv_path = mapping.with_file_name("predictions.csv");
    let out = idstitch(&[
        "predict",
        mapping.to_str().unwrap(),
        "--now",
        "1997-09-30T00:00:00Z",
        "--unit",
        "weeks",
        "--horizon",
        "39",
        "-o",
        csv_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 (weeks), log-likelihood -9582.4"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("2357 customers") && stderr.contains(" converged"), "{stderr}");

    // The rows are the library's predictions under the fitted model, customer by customer.
    let run = Mapping::from_path(&mapping).unwrap().run(4096, |_| {}).unwrap();
    let now = Timestamp(875_577_600); // 1997-09-30T00:00:00Z
    let fit = run.resolver.fit_purchase_model(now, TimeUnit::Weeks).unwrap();
    let want = run.resolver.predictions(now, &fit.model, 39.0).unwrap();
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, ["customer_id", "x", "t_x", "T", "p_alive", "expected_purchases"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2_357);
    for (row, p) in rows.iter().zip(&want) {
        assert_eq!(row[0], p.customer.to_string());
        assert_eq!(row[1].parse::<u32>().unwrap(), p.prediction.history.repeat_purchases);
        let t: f64 = row[3].parse().unwrap();
        assert_eq!(t, p.prediction.history.t(TimeUnit::Weeks));
        assert_eq!(row[4].parse::<f64>().unwrap(), p.prediction.p_alive);
        assert_eq!(row[5].parse::<f64>().unwrap(), p.prediction.expected_purchases);
    }
}

#[test]
fn unfittable_data_and_bad_arguments_are_one_line() {
    // The first transaction only: one customer, one purchase, nothing to fit.
    let mapping = cdnow_mapping("cli-predict-one", 1);
    let out = idstitch(&["predict", mapping.to_str().unwrap(), "--now", "1997-09-30"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot fit the model") && stderr.contains("second day"), "{stderr}");

    let out = idstitch(&[
        "predict",
        mapping.to_str().unwrap(),
        "--now",
        "1997-09-30",
        "--unit",
        "months",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("months"), "{stderr}");
}
