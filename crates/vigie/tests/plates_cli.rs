//! `vigie plates read` and `vigie plates bench` on real photos (`../shared/data/plates-eu/`, never copied into the
//! repository; the test copies two of them into a temporary folder) and on broken images.

mod common;
use common::*;
use std::path::PathBuf;

fn photos() -> PathBuf {
    let p = repo_root().join("../shared/data/plates-eu");
    assert!(
        p.exists(),
        "missing real plate photos {} (the shared data folder)",
        p.display()
    );
    p
}

fn lines(o: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn read_prints_one_line_per_image_and_goes_on_after_broken_ones() {
    let d = temp_dir("plates-read");
    let good = photos().join("test_001.jpg");
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let txt = d.join("notes.jpg");
    std::fs::write(&txt, "a text file, not an image\n").unwrap();
    let missing = d.join("missing.png");
    let args: Vec<String> = [&good, &cut, &txt, &missing, &photos().join("test_064.jpg")]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut argv = vec!["plates", "read"];
    argv.extend(args.iter().map(String::as_str));
    let o = vigie(&argv, &repo_root());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(65),
        "an invalid-data exit once all are done; stderr: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("3 of 5 images"), "{err}");
    let v = lines(&o);
    assert_eq!(v.len(), 5, "one line per image, in order");
    for (line, arg) in v.iter().zip(&args) {
        assert_eq!(line["image"], arg.as_str());
    }
    let p = &v[0]["plates"][0];
    assert_eq!(p["text"], "PP587AO");
    assert!(p["confidence"].as_f64().unwrap() > 0.8, "{p}");
    let b: Vec<f64> = p["box"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    // Ground truth: x 188, y 209, w 107, h 24.
    assert!(b[0] < 200.0 && b[2] > 285.0 && b[1] < 220.0 && b[3] > 225.0, "{b:?}");
    for (i, name) in [(1, "cut.jpg"), (2, "notes.jpg"), (3, "missing.png")] {
        let e = v[i]["error"].as_str().unwrap_or_else(|| panic!("line {i}: {}", v[i]));
        assert!(e.contains(name), "{e}");
        assert!(v[i].get("plates").is_none());
    }
    assert_eq!(v[4]["plates"][0]["text"], "BZM2227");
}

#[test]
fn read_of_good_images_exits_0_and_bench_prints_one_json_line() {
    let d = temp_dir("plates-bench");
    for n in ["test_002", "test_062"] {
        for ext in ["jpg", "txt"] {
            std::fs::copy(photos().join(format!("{n}.{ext}")), d.join(format!("{n}.{ext}"))).unwrap();
        }
    }
    let o = vigie(
        &["plates", "read", d.join("test_062.jpg").to_str().unwrap()],
        &repo_root(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(lines(&o)[0]["plates"][0]["text"], "1B80338");

    let o = vigie(&["plates", "bench", d.to_str().unwrap()], &repo_root());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = lines(&o);
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0]["images"].as_u64(), v[0]["found"].as_u64(), v[0]["exact"].as_u64()),
        (Some(2), Some(2), Some(2))
    );
    assert!(v[0]["ms_per_crop_median"].as_f64().unwrap() > 0.0);
    assert_eq!(
        (v[0]["exact_errata"].as_u64(), v[0]["errata"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(v[0]["found_pct"].as_f64(), Some(100.0));

    // With errata: strict and corrected figures both, and the picture of the corrected plates.
    let given = std::fs::read_to_string(d.join("test_002.txt")).unwrap();
    let given = given.split_whitespace().nth(5).unwrap().to_string();
    let errata = d.join("errata.tsv");
    std::fs::write(
        &errata,
        format!("file\tgiven\tcorrected\treason\ntest_002.jpg\t{given}\tXX000XX\ta test correction\n"),
    )
    .unwrap();
    let picture = d.join("pictures/errata.png");
    let o = vigie(
        &[
            "plates",
            "bench",
            d.to_str().unwrap(),
            "--errata",
            errata.to_str().unwrap(),
            "--errata-picture",
            picture.to_str().unwrap(),
        ],
        &repo_root(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = lines(&o);
    assert_eq!(
        (
            v[0]["exact"].as_u64(),
            v[0]["exact_errata"].as_u64(),
            v[0]["errata"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(v[0]["exact_errata_pct"].as_f64(), Some(50.0));
    let img = image::open(&picture).expect("the errata picture").to_rgb8();
    assert!(
        img.width() > 64 && img.height() >= 64,
        "{}x{}",
        img.width(),
        img.height()
    );
}
