//! The one policy document: the README's example and the template's default start every function
//! that reads it (its own parser, at start-up, under the Lambda Runtime API), both pass the
//! checked-in JSON Schema, a bad document stops every function naming the path, and the
//! template's seed backup setup says what the default policy says.

use rearguard_e2e::function::{FunctionProcess, binary};
use rearguard_e2e::local_aws;
use rearguard_e2e::runtime_api::RuntimeApi;
use rearguard_e2e::workspace_root;
use serde_json::{Value, json};
use serde_yaml_ng::Value as Yaml;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// The functions that read `REARGUARD_POLICY` (job-alerts has no part in it).
const READERS: &[&str] = &[
    "tag-enrollment",
    "cross-account-copy",
    "compliance-report",
    "restore-drill",
];

/// The JSON block after `<!-- policy example -->` in the README.
fn readme_example() -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let after = readme
        .split_once("<!-- policy example -->")
        .expect("the README marks its policy example")
        .1;
    let block = after.split_once("```json\n").expect("a json block follows").1;
    block.split_once("```").expect("the block ends").0.to_string()
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).expect("template.yaml");
    serde_yaml_ng::from_str(&text).expect("template.yaml is YAML")
}

fn template_default() -> String {
    template()["Parameters"]["RearguardPolicy"]["Default"]
        .as_str()
        .expect("RearguardPolicy has a default")
        .to_string()
}

/// Starts `function` with `policy` and the settings it requires; `Ok` once it asks for work,
/// `Err(logs)` when it exits instead.
async fn start(function: &str, policy: &str) -> Result<(), String> {
    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = local_aws::function_env();
    env.extend([
        (
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:eu-west-1:123456789012:rearguard-alerts".to_string(),
        ),
        ("REARGUARD_POLICY", policy.to_string()),
        (
            "COPY_ROLE_ARN",
            "arn:aws:iam::123456789012:role/rearguard-copy".to_string(),
        ),
        ("REPORT_BUCKET", "rearguard-reports".to_string()),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut process = FunctionProcess::spawn(binary(function), &api.address(), &env);
    tokio::select! {
        polled = api.wait_first_poll(WAIT) => match polled {
            Some(_) => Ok(()),
            None => Err(format!("{function} neither started nor exited:\n{}", process.logs().join("\n"))),
        },
        _ = process.child.wait() => {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Err(process.logs().join("\n"))
        }
    }
}

#[tokio::test]
async fn the_readme_example_and_the_template_default_start_every_function() {
    for (what, policy) in [
        ("README example", readme_example()),
        ("template default", template_default()),
    ] {
        for function in READERS {
            if let Err(logs) = start(function, &policy).await {
                panic!("{function} refused the {what}:\n{logs}");
            }
        }
    }
}

#[tokio::test]
async fn a_bad_document_stops_every_function_naming_the_path() {
    let cases = [
        // An unknown field, written in the other casing.
        (
            template_default().replace("\"fallback_plan\"", "\"fallbackPlan\""),
            "enrollment.fallbackPlan",
        ),
        // A plan without an RPO.
        (
            json!({"plans": {"production": {"retention_days": 30}}}).to_string(),
            "plans.production: has no RPO",
        ),
        // A copy to a vault the document does not name.
        (
            json!({"plans": {"production": {"rpo_hours": 24, "copies": [{"vault": "rearguard-isolated", "rpo_hours": 48}]}}})
                .to_string(),
            "plans.production.copies[0].vault",
        ),
    ];
    for (policy, path) in &cases {
        for function in READERS {
            let logs = start(function, policy)
                .await
                .expect_err("a bad policy must stop the function");
            assert!(
                logs.contains("REARGUARD_POLICY") && logs.contains(path),
                "{function} did not name {path}:\n{logs}"
            );
        }
    }
}

#[test]
fn the_schema_accepts_the_examples_and_refuses_other_casing() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace_root().join("policy.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    for (what, policy) in [
        ("README example", readme_example()),
        ("template default", template_default()),
    ] {
        let document: Value = serde_json::from_str(&policy).unwrap();
        let errors: Vec<String> = validator.iter_errors(&document).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{what}: {errors:?}");
    }
    let camel: Value = serde_json::from_str(&template_default().replace("\"tag_key\"", "\"tagKey\"")).unwrap();
    assert!(!validator.is_valid(&camel));
}

/// IAM cannot read the policy, so the template names the tag keys tag-enrollment may write
/// (`aws:TagKeys`) in a parameter of its own: its default is the default policy's keys.
#[test]
fn the_tag_keys_tag_enrollment_may_write_are_the_default_policys() {
    let policy: Value = serde_json::from_str(&template_default()).unwrap();
    let marker = policy
        .get("marker_tag_key")
        .and_then(Value::as_str)
        .unwrap_or("rearguard:enrolled-by");
    let expected = format!("{},{marker}", policy["tag_key"].as_str().unwrap());
    assert_eq!(
        text(&template()["Parameters"]["EnrollmentTagKeys"]["Default"]),
        expected
    );
}

/// A `!Ref`/`!Sub` or plain scalar as text.
fn text(value: &Yaml) -> String {
    match value {
        Yaml::Tagged(tagged) => text(&tagged.value),
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn number(value: &Yaml) -> i64 {
    text(value)
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {value:?}"))
}

/// The template's seed backup setup (vaults, plans, selections) and its default policy describe
/// the same plans: schedules, windows, retention, copy rules, selections and vault locks.
#[test]
fn the_seed_backup_setup_says_what_the_default_policy_says() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("resources");
    let policy: Value = serde_json::from_str(&template_default()).unwrap();
    let dr_region = text(&template["Parameters"]["DisasterRecoveryRegion"]["Default"]);
    let of_type = |kind: &str| -> Vec<(String, &Yaml)> {
        resources
            .iter()
            .filter(|(_, r)| r["Type"].as_str() == Some(kind))
            .map(|(name, r)| (text(name), &r["Properties"]))
            .collect()
    };
    let vault_name = |logical: &str| text(&resources[logical]["Properties"]["BackupVaultName"]);

    let plans = of_type("AWS::Backup::BackupPlan");
    assert_eq!(
        plans.len(),
        policy["plans"].as_object().unwrap().len(),
        "one seed plan per policy plan"
    );
    for (logical, properties) in &plans {
        let rule = &properties["BackupPlan"]["BackupPlanRule"][0];
        let vault_logical = text(&rule["TargetBackupVault"]);
        let vault = vault_name(&vault_logical);
        // The policy plan whose vault this seed plan writes to.
        let (name, plan) = policy["plans"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, p)| p["vault"] == vault.as_str())
            .unwrap_or_else(|| panic!("{logical} writes to {vault}, which no policy plan names"));
        let at = format!("{logical} / plans.{name}");
        let schedule = &plan["schedule"];
        assert_eq!(
            text(&rule["ScheduleExpression"]),
            schedule["expression"],
            "{at}: schedule"
        );
        assert_eq!(
            number(&rule["StartWindowMinutes"]),
            schedule["start_window_minutes"],
            "{at}: start window"
        );
        assert_eq!(
            number(&rule["CompletionWindowMinutes"]),
            schedule["completion_window_minutes"],
            "{at}: completion window"
        );
        assert_eq!(
            number(&rule["Lifecycle"]["DeleteAfterDays"]),
            plan["retention_days"],
            "{at}: retention"
        );

        // The plan's own copy rules are the policy's copies made by the backup plan.
        let seed_copies: Vec<(String, i64)> = rule["CopyActions"]
            .as_sequence()
            .map(|actions| {
                actions
                    .iter()
                    .map(|a| {
                        let arn =
                            text(&a["DestinationBackupVaultArn"]).replace("${DisasterRecoveryRegion}", &dr_region);
                        (arn, number(&a["Lifecycle"]["DeleteAfterDays"]))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let policy_copies: Vec<(String, i64)> = plan["copies"]
            .as_array()
            .map(|copies| {
                copies
                    .iter()
                    .filter(|c| c["made_by"] == "backup_plan")
                    .map(|c| {
                        let key = c["vault"].as_str().unwrap();
                        let vault = &policy["vaults"][key];
                        let region = vault["region"].as_str().unwrap_or("${AWS::Region}");
                        let account = vault["account"].as_str().unwrap_or("${AWS::AccountId}");
                        let name = vault["name"].as_str().unwrap_or(key);
                        (
                            format!("arn:${{AWS::Partition}}:backup:{region}:{account}:backup-vault:{name}"),
                            c["lifecycle"]["delete_after_days"].as_i64().unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(seed_copies, policy_copies, "{at}: copy rules");

        // The vault lock the plan requires is the seed vault's.
        let lock = &resources[vault_logical.as_str()]["Properties"]["LockConfiguration"];
        match plan.get("vault_lock") {
            Some(required) => {
                assert_eq!(
                    number(&lock["MinRetentionDays"]),
                    required["min_retention_days"],
                    "{at}: lock minimum"
                );
                assert_eq!(
                    number(&lock["MaxRetentionDays"]),
                    required["max_retention_days"],
                    "{at}: lock maximum"
                );
                // A compliance-mode lock is one with a grace time (ChangeableForDays).
                assert_eq!(
                    required["mode"] == "compliance",
                    !lock["ChangeableForDays"].is_null(),
                    "{at}: lock mode"
                );
            }
            None => assert!(
                lock.is_null(),
                "{at}: the seed locks a vault the policy does not require locked"
            ),
        }

        // The selection picks the plan's members by the policy's backup tag.
        let selection = of_type("AWS::Backup::BackupSelection")
            .into_iter()
            .find(|(_, s)| text(&s["BackupPlanId"]) == *logical)
            .unwrap_or_else(|| panic!("{logical} has no selection"));
        let tag = &selection.1["BackupSelection"]["ListOfTags"][0];
        assert_eq!(text(&tag["ConditionKey"]), policy["tag_key"], "{at}: selection tag");
        assert_eq!(text(&tag["ConditionValue"]), name.as_str(), "{at}: selection value");
    }
}
