//! The shipped cluster recipes, run on this machine: the Slurm batch script
//! as its array tasks would run it (tests/slurm/run.sh runs it on a real
//! Slurm), and the Kubernetes Indexed Job read for its shape and its command
//! run for each completion index. Merged, both equal the single-machine run.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::assert_ok;

const SCENARIO: &str = "scenarios/validation/mmc.toml";
const RUN: [&str; 6] = ["--duration", "20s", "--warmup", "2s", "--replications", "3"];

/// The flags every shard and the single run take.
fn flags() -> Vec<&'static str> {
    crate::support::SMALL_SWEEP
        .iter()
        .chain(&RUN)
        .copied()
        .collect()
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stacksim-deploy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn stacksim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stacksim"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// The single-machine run and a merge of `shards`: sweep.csv and sweep.json
/// byte for byte the same.
fn merged_equals_single(shards: &[PathBuf], scratch: &Path) {
    let (single, merged) = (scratch.join("single"), scratch.join("merged"));
    assert_ok(
        &stacksim()
            .args(["sweep", SCENARIO, "--no-charts", "--quiet", "--out"])
            .arg(&single)
            .args(flags())
            .output()
            .unwrap(),
    );
    assert_ok(
        &stacksim()
            .args(["merge", "--no-charts", "--quiet", "--out"])
            .arg(&merged)
            .args(shards)
            .output()
            .unwrap(),
    );
    for f in ["sweep.csv", "sweep.json"] {
        assert_eq!(
            std::fs::read(single.join(f)).unwrap(),
            std::fs::read(merged.join(f)).unwrap(),
            "{f} of the merged shards"
        );
    }
}

#[test]
fn the_slurm_batch_script_runs_its_array_task_and_the_merge_equals_one_machine() {
    let out = temp("slurm");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let task = |id: Option<&str>| {
        let mut c = Command::new("bash");
        c.arg(root.join("deploy/slurm/sweep.sbatch"))
            .args([SCENARIO, "3"])
            .arg(&out)
            .args(flags())
            .current_dir(root)
            .env("STACKSIM", env!("CARGO_BIN_EXE_stacksim"))
            .env("SLURM_CPUS_PER_TASK", "1");
        match id {
            Some(id) => c.env("SLURM_ARRAY_TASK_ID", id),
            None => c.env_remove("SLURM_ARRAY_TASK_ID"),
        };
        c.output().unwrap()
    };
    for id in ["1", "2", "3"] {
        assert_ok(&task(Some(id)));
    }
    // A task run again (a requeue) resumes its folder and runs nothing new.
    assert_ok(&task(Some("2")));
    let lines = std::fs::read_to_string(out.join("shard-2/points.jsonl")).unwrap();
    assert_eq!(
        lines.lines().count(),
        3,
        "points 1, 4, 7 once each: {lines}"
    );
    let shards: Vec<PathBuf> = (1..=3).map(|k| out.join(format!("shard-{k}"))).collect();
    merged_equals_single(&shards, &out);
    // Outside an array job it says how to submit it.
    let r = task(None);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("sbatch --array=1-3"));
    std::fs::remove_dir_all(&out).unwrap();
}

/// `map[key]`, failing with the path when absent.
fn at<'a>(y: &'a Yaml, path: &[&str]) -> &'a Yaml {
    path.iter().fold(y, |node, key| {
        let next = &node[*key];
        assert!(
            !next.is_badvalue(),
            "the manifest has no {}",
            path.join(".")
        );
        next
    })
}

#[test]
fn the_kubernetes_indexed_job_has_its_shape_and_its_command_runs_each_index() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("deploy/kubernetes/sweep-job.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("the manifest parses as YAML");
    assert_eq!(docs.len(), 1, "one Job");
    let job = &docs[0];
    assert_eq!(at(job, &["apiVersion"]).as_str(), Some("batch/v1"));
    assert_eq!(at(job, &["kind"]).as_str(), Some("Job"));
    assert_eq!(
        at(job, &["spec", "completionMode"]).as_str(),
        Some("Indexed")
    );
    let completions = at(job, &["spec", "completions"]).as_i64().unwrap();
    let parallelism = at(job, &["spec", "parallelism"]).as_i64().unwrap();
    assert!((1..=completions).contains(&parallelism));
    let pod = at(job, &["spec", "template", "spec"]);
    assert_eq!(at(pod, &["restartPolicy"]).as_str(), Some("Never"));
    let containers = at(pod, &["containers"]).as_vec().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let env: Vec<(String, String)> = at(c, &["env"])
        .as_vec()
        .unwrap()
        .iter()
        .map(|e| {
            (
                at(e, &["name"]).as_str().unwrap().to_string(),
                at(e, &["value"]).as_str().unwrap().to_string(),
            )
        })
        .collect();
    let var = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in the container's env"))
    };
    assert_eq!(
        var("SHARDS"),
        completions.to_string(),
        "SHARDS must equal completions, or shards go missing"
    );
    let mounts = at(c, &["volumeMounts"]).as_vec().unwrap();
    assert!(
        var("OUT").starts_with(at(&mounts[0], &["mountPath"]).as_str().unwrap()),
        "the output is on the shared volume"
    );
    let command: Vec<&str> = at(c, &["command"])
        .as_vec()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(command, ["/bin/sh", "-c"]);
    let script = at(c, &["args"]).as_vec().unwrap()[0].as_str().unwrap();
    assert!(script.contains("--shard \"auto/$SHARDS\""), "{script}");
    assert!(
        script.contains("shard-$((JOB_COMPLETION_INDEX + 1))"),
        "folders named by shard number: {script}"
    );
    // Its command, run for each completion index as the pods would, with
    // the binary on PATH and the volume a temporary folder.
    let out = temp("k8s");
    std::fs::create_dir_all(&out).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_stacksim")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shards = 3;
    for index in 0..shards {
        let r = Command::new("/bin/sh")
            .args(["-c", script])
            .current_dir(root)
            .env("PATH", &path)
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("SHARDS", shards.to_string())
            .env("SCENARIO", SCENARIO)
            .env("OUT", &out)
            .env("SWEEP_FLAGS", flags().join(" "))
            .env("RAYON_NUM_THREADS", var("RAYON_NUM_THREADS"))
            .output()
            .unwrap();
        assert_ok(&r);
    }
    let dirs: Vec<PathBuf> = (1..=shards)
        .map(|k| out.join(format!("shard-{k}")))
        .collect();
    merged_equals_single(&dirs, &out);
    std::fs::remove_dir_all(&out).unwrap();
}
