//! The analyst in the browser: the agreement dashboard, the analysis run
//! on the study's current data, its files, and its reproduction.

use std::process::Command;

use crate::harness::Env;

/// As the analyst of `sclerad demo --serve`: read the agreement, run the
/// analysis with a confidence level of 0.9 (a refused one first), open the
/// kept run; its results.json equals `sclerad analyze` of the study's
/// `sclerad export` with the same settings; reproduce it.
#[test]
fn the_analyst_runs_the_analysis_and_gets_what_sclerad_analyze_gives() {
    let Some(env) = Env::start() else { return };
    let analyst = env.demo.user("analyst", 0).clone();
    env.run(async {
        let b = env.browser().await;
        b.login(&analyst).await;
        b.wait_path("/analysis").await;
        b.shot("analysis-studies").await;
        b.axe("the analyst's studies").await;
        b.click("tr[data-study=nancy-demo] [data-action=agreement]")
            .await;
        b.wait_path("/analysis/agreement").await;
        assert!(b.count("tr[data-agreement][data-kind=inter]").await > 0);
        b.shot("analysis-agreement").await;
        b.axe("the agreement dashboard").await;
        b.goto("/analysis").await;
        b.click("tr[data-study=nancy-demo] [data-action=analysis]")
            .await;
        b.wait_path("/analysis/runs").await;
        b.shot("analysis-runs").await;
        b.axe("the analysis form").await;
        let conf = b.find("#conf_level").await;
        conf.clear().await.expect("clear");
        conf.send_keys("2").await.expect("type");
        b.click("[data-action=run-analysis]").await;
        b.wait(
            "document.querySelector('[data-problem=conf_level]')",
            "the refused confidence level",
        )
        .await;
        assert_eq!(b.count("tr[data-run]").await, 0, "nothing kept");
        b.axe("a refused setting").await;
        let conf = b.find("#conf_level").await;
        conf.clear().await.expect("clear");
        conf.send_keys("0.9").await.expect("type");
        b.click("[data-action=run-analysis]").await;
        b.wait(
            "document.querySelector('[data-action=reproduce]')",
            "the kept run",
        )
        .await;
        let run_path = b.path().await;
        assert!(run_path.starts_with("/analysis/runs/"), "{run_path}");
        assert_eq!(
            b.count("iframe[data-report]").await,
            1,
            "the report in the page"
        );
        let report = b
            .attr("iframe[data-report]", "src")
            .await
            .expect("its address");
        assert_eq!(b.fetch(&report).await.0, 200);
        b.shot("analysis-run").await;
        b.axe("a kept run").await;
        let href = b
            .attr("a[data-download='results.json']", "href")
            .await
            .expect("the results.json link");
        let (status, page_json) = b.fetch(&href).await;
        assert_eq!(status, 200);
        for file in ["report.html", "tables/tables.xlsx", "input"] {
            assert_eq!(
                b.count(&format!("a[data-download='{file}']")).await,
                1,
                "{file}"
            );
        }
        assert!(b.count("a[data-download^='figures/']").await > 0);
        assert!(
            b.count("a[data-download^='tables/'][data-download$='.csv']")
                .await
                > 0
        );

        // The study's export, analysed by the command with the same setting
        // in a folder named after the study: the same results.json, byte
        // for byte.
        let dir = tempfile::tempdir().expect("temp");
        let db = format!("sqlite:{}", env.demo.db.display());
        std::fs::write(dir.path().join("settings.toml"), "conf_level = 0.9\n").expect("settings");
        let status = Command::new(env!("CARGO_BIN_EXE_sclerad"))
            .current_dir(dir.path())
            .args([
                "export",
                "--db",
                &db,
                "--study",
                "nancy-demo",
                "--out",
                "nancy-demo",
            ])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("sclerad export");
        assert!(status.success());
        let status = Command::new(env!("CARGO_BIN_EXE_sclerad"))
            .current_dir(dir.path())
            .args([
                "analyze",
                "nancy-demo",
                "--out",
                "out",
                "--settings",
                "settings.toml",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("sclerad analyze");
        assert!(status.success());
        let command =
            std::fs::read_to_string(dir.path().join("out/results.json")).expect("results.json");
        let from_page = b.text(&href).await;
        assert_eq!(
            from_page, command,
            "the run's results.json is sclerad analyze's of the export"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&command).expect("json"),
            page_json
        );

        b.click("[data-action=reproduce]").await;
        b.wait(
            "document.querySelector('[data-reproduced=identical]')",
            "the run reproduced",
        )
        .await;
        b.shot("analysis-reproduced").await;
        b.close().await;
    });
}
