//! `bondsim report`: a self-contained HTML page whose every plot renders in a real browser
//! (Debian's chromium, headless).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Headless Chromium's DOM of `page` after its scripts ran, or None when there is no Chromium
/// (then the test says so; `.ci/run` sets BONDSIM_REQUIRE_BROWSER=1 so CI cannot skip it).
fn rendered_dom(page: &Path, profile: &Path) -> Option<String> {
    let browser = outside_program(
        &["chromium", "chromium-browser"],
        "BONDSIM_REQUIRE_BROWSER",
        "Debian: apt-get install chromium",
    )?;
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn attribute(dom: &str, name: &str) -> Option<usize> {
    let start = dom.find(&format!("{name}=\""))? + name.len() + 2;
    dom[start..].split('"').next()?.parse().ok()
}

fn report(dir: &Path) -> (std::path::PathBuf, String) {
    let page = dir.join("report.html");
    let output = bondsim().arg("report").arg(dir).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    (page, html)
}

#[test]
fn the_report_of_a_run_renders_every_plot_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    // A folder name with markup: text from outside must be escaped in the page.
    let out = dir.path().join("run <b>&");
    run_ok(&config, &out, &[]);
    let (page, html) = report(&out);
    assert!(html.contains("run &lt;b&gt;&amp;") && !html.contains("run <b>&"), "unescaped text");
    let figures = html.matches("<figure").count();
    assert_eq!(figures, 8);
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "the page is self-contained");
    let Some(dom) = rendered_dom(&page, &dir.path().join("profile")) else { return };
    assert_eq!(attribute(&dom, "data-plots-total"), Some(figures));
    assert_eq!(attribute(&dom, "data-plots-rendered"), Some(figures), "every plot rendered");
}

#[test]
fn the_report_of_a_sweep_plots_outcomes_against_the_swept_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "sweep.toml",
        r#"
[experiment]
name = "report"
seed = 3
[population]
founders = 200
[time]
years = 6.0
[sweep]
replicates = 2
[sweep.grid]
"model.contact.weekly_social_hours" = [10.0, 30.0]
"#,
    );
    let out = dir.path().join("sweep");
    let status = bondsim().args(["sweep", "run"]).arg(&config).arg("--out").arg(&out).arg("--quiet").status().unwrap();
    assert!(status.success());
    let (page, html) = report(&out);
    assert!(html.contains("against weekly_social_hours"));
    let figures = html.matches("<figure").count();
    assert_eq!(figures, 8 + 4, "the run plots and one per outcome");
    let Some(dom) = rendered_dom(&page, &dir.path().join("profile")) else { return };
    assert_eq!(attribute(&dom, "data-plots-rendered"), Some(figures));
}

#[test]
fn a_folder_without_a_dataset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = bondsim().arg("report").arg(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no bondsim dataset"));
}
