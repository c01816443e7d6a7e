use super::*;

const EXAMPLE: &str = r#"{
  "tag_key": "backup-plan",
  "opt_out": {"value": "none", "reason_tag_key": "backup-opt-out-reason"},
  "resource_types": ["EC2", "EBS", "RDS", "Aurora", "DynamoDB", "EFS"],
  "vaults": {
    "rearguard-production": {},
    "rearguard-compliance": {},
    "rearguard-dr": {"region": "us-west-2"},
    "rearguard-isolated": {"account": "444455556666", "region": "eu-west-1"}
  },
  "plans": {
    "production": {
      "vault": "rearguard-production",
      "rto_hours": 4,
      "schedule": {"expression": "cron(0 3 * * ? *)", "start_window_minutes": 60, "completion_window_minutes": 480},
      "retention_days": 30,
      "copies": [
        {"vault": "rearguard-dr", "rpo_hours": 48, "made_by": "backup_plan", "lifecycle": {"delete_after_days": 30}},
        {"vault": "rearguard-isolated", "rpo_hours": 48, "lifecycle": {"delete_after_days": 35}}
      ]
    },
    "staging": {"rpo_hours": 180},
    "compliance": {
      "vault": "rearguard-compliance",
      "schedule": {"expression": "cron(0 5 1 * ? *)", "start_window_minutes": 120, "completion_window_minutes": 1440},
      "retention_days": 2557,
      "vault_lock": {"mode": "compliance", "min_retention_days": 2557}
    }
  },
  "enrollment": {
    "mode": "enforce",
    "defaults": [{"when": {"Environment": "Production"}, "plan": "production"}],
    "fallback_plan": "staging"
  },
  "copy_routes": [
    {"name": "on-demand", "source_vaults": ["*"], "resource_types": ["EBS"], "jobs": "on_demand", "destinations": ["rearguard-dr"]}
  ]
}"#;

fn error_of(json: &str) -> PolicyError {
    Document::parse(json).unwrap_err()
}

#[test]
fn the_example_parses_and_derives_each_plans_rpo() {
    let doc = Document::parse(EXAMPLE).unwrap();
    // A daily rule that may start an hour late and run for 8 hours: 24 + 1 + 8.
    assert_eq!(doc.plans["production"].rpo_hours(), 33);
    assert_eq!(doc.plans["staging"].rpo_hours(), 180, "stated");
    // Monthly: the longest month (31 days) + 2 h start + 24 h completion.
    assert_eq!(doc.plans["compliance"].rpo_hours(), 31 * 24 + 2 + 24);
    assert_eq!(doc.enrollment.mode, Mode::Enforce);
    assert_eq!(doc.marker_tag_key, "rearguard:enrolled-by");
    assert_eq!(doc.plans["production"].copies[0].made_by, CopyMaker::BackupPlan);
    assert_eq!(doc.plans["production"].copies[1].made_by, CopyMaker::Rearguard);
}

#[test]
fn named_vaults_resolve_in_the_backups_account_and_region_unless_they_say_otherwise() {
    let doc = Document::parse(EXAMPLE).unwrap();
    assert_eq!(
        doc.vault("rearguard-dr").arn_for("aws", "111122223333", "eu-west-1"),
        "arn:aws:backup:us-west-2:111122223333:backup-vault:rearguard-dr"
    );
    assert_eq!(
        doc.vault("rearguard-isolated")
            .arn_for("aws-us-gov", "111122223333", "us-gov-west-1"),
        "arn:aws-us-gov:backup:eu-west-1:444455556666:backup-vault:rearguard-isolated"
    );
    assert!(doc.vault("rearguard-production").is_beside_the_backup());
    assert!(!doc.vault("rearguard-dr").is_beside_the_backup());
}

#[test]
fn a_plan_without_an_rpo_is_named() {
    let e = error_of(&EXAMPLE.replace(r#""staging": {"rpo_hours": 180}"#, r#""staging": {}"#));
    assert_eq!(e.path, "plans.staging");
    assert!(e.problem.contains("no RPO"), "{e}");
}

#[test]
fn an_rpo_the_schedule_cannot_meet_is_refused() {
    let e = error_of(&EXAMPLE.replace(r#""retention_days": 30,"#, r#""retention_days": 30, "rpo_hours": 12,"#));
    assert_eq!(e.path, "plans.production.rpo_hours");
    assert!(e.problem.contains("every 24 h"), "{e}");
}

#[test]
fn a_copy_to_an_unknown_vault_is_named_with_its_path() {
    let e = error_of(&EXAMPLE.replace(r#""vault": "rearguard-isolated""#, r#""vault": "rearguard-isolatd""#));
    assert_eq!(e.path, "plans.production.copies[1].vault");
    assert!(
        e.problem.contains("\"rearguard-isolatd\" is not one of the vaults"),
        "{e}"
    );
    let e = error_of(&EXAMPLE.replace(r#""destinations": ["rearguard-dr"]"#, r#""destinations": ["dr"]"#));
    assert_eq!(e.path, "copy_routes[0].destinations[0]");
}

#[test]
fn unknown_fields_and_mixed_casing_are_refused_naming_the_path() {
    let e = error_of(&EXAMPLE.replace(r#""fallback_plan""#, r#""fallbackPlan""#));
    assert_eq!(e.path, "enrollment.fallbackPlan");
    assert!(e.problem.contains("unknown field `fallbackPlan`"), "{e}");
    assert!(e.problem.contains("snake_case: `fallback_plan`"), "{e}");
    let e = error_of(&EXAMPLE.replace(r#""tag_key""#, r#""tagKey""#));
    assert!(e.problem.contains("`tag_key`"), "{e}");
    let e = error_of(&EXAMPLE.replace(r#""made_by": "backup_plan""#, r#""made_by": "plan""#));
    assert_eq!(e.path, "plans.production.copies[0].made_by");
    assert_eq!(error_of("not json").path, "(document)");
}

#[test]
fn enrollment_names_only_known_plans() {
    let e = error_of(&EXAMPLE.replace(r#""plan": "production"}"#, r#""plan": "prod"}"#));
    assert_eq!(e.path, "enrollment.defaults[0].plan");
    let e = error_of(&EXAMPLE.replace(r#""fallback_plan": "staging""#, r#""fallback_plan": "stagin""#));
    assert_eq!(e.path, "enrollment.fallback_plan");
    let e = error_of(&EXAMPLE.replace(r#""value": "none""#, r#""value": "staging""#));
    assert_eq!(e.path, "opt_out.value");
}

#[test]
fn a_retention_outside_the_vault_lock_is_refused() {
    // AWS Backup Vault Lock: jobs whose retention is below the minimum fail.
    let e = error_of(&EXAMPLE.replace(r#""retention_days": 2557"#, r#""retention_days": 2555"#));
    assert_eq!(e.path, "plans.compliance.retention_days");
    assert!(e.problem.contains("2557"), "{e}");
    let e = error_of(&EXAMPLE.replace(r#""vault": "rearguard-compliance","#, ""));
    assert_eq!(e.path, "plans.compliance.vault_lock");
}

#[test]
fn rearguard_only_options_on_a_plan_made_copy_are_refused() {
    let e = error_of(&EXAMPLE.replace(
        r#""made_by": "backup_plan","#,
        r#""made_by": "backup_plan", "reencrypt": {"vault": "rearguard-production"},"#,
    ));
    assert_eq!(e.path, "plans.production.copies[0].reencrypt");
    let e = error_of(&EXAMPLE.replace(
        r#""made_by": "backup_plan","#,
        r#""made_by": "backup_plan", "clamp_to_vault_lock": true,"#,
    ));
    assert_eq!(e.path, "plans.production.copies[0].clamp_to_vault_lock");
    // A plan's copy rule copies on completion: it cannot wait for a malware scan.
    let e = error_of(&EXAMPLE.replace(
        r#""made_by": "backup_plan","#,
        r#""made_by": "backup_plan", "require_clean_scan": true,"#,
    ));
    assert_eq!(e.path, "plans.production.copies[0].require_clean_scan");
    let e = error_of(&EXAMPLE.replace(
        r#""staging": {"rpo_hours": 180}"#,
        r#""staging": {"rpo_hours": 180, "shorten_source_to_days": 7}"#,
    ));
    assert_eq!(e.path, "plans.staging.shorten_source_to_days");
}

#[test]
fn vaults_types_and_routes_are_checked() {
    let e = error_of(&EXAMPLE.replace(r#""account": "444455556666""#, r#""account": "4444""#));
    assert_eq!(e.path, "vaults.rearguard-isolated.account");
    let e = error_of(&EXAMPLE.replace(
        r#""rearguard-dr": {"region": "us-west-2"}"#,
        r#""rearguard-dr": {"arn": "arn:aws:s3:::b"}"#,
    ));
    assert_eq!(e.path, "vaults.rearguard-dr.arn");
    let e = error_of(&EXAMPLE.replace(r#"["EC2", "EBS""#, r#"["EC2", "Lambda""#));
    assert_eq!(e.path, "resource_types[1]");
    let e = error_of(&EXAMPLE.replace(
        r#""destinations": ["rearguard-dr"]}"#,
        r#""destinations": ["rearguard-dr"]}, {"name": "on-demand", "source_vaults": ["*"], "destinations": ["rearguard-dr"]}"#,
    ));
    assert_eq!(e.path, "copy_routes[1].name");
    let e = error_of(&EXAMPLE.replace(
        r#""jobs": "on_demand","#,
        r#""jobs": "on_demand", "lifecycle": {"move_to_cold_storage_after_days": 30, "delete_after_days": 60},"#,
    ));
    assert_eq!(e.path, "copy_routes[0].lifecycle");
    assert!(e.problem.contains("120"), "{e}");
}

#[test]
fn the_setting_is_named_when_the_document_is_bad() {
    let settings = Settings::from_pairs(&[(SETTING, r#"{"plans": {}}"#)]);
    let e = Document::from_settings(&settings).unwrap_err().to_string();
    assert!(
        e.contains("REARGUARD_POLICY") && e.contains("plans: must name at least one plan"),
        "{e}"
    );
    let e = Document::from_settings(&Settings::from_pairs(&[])).unwrap_err();
    assert_eq!(e, ConfigError::Missing { name: SETTING.into() });
}

#[test]
fn the_checked_in_schema_is_the_documents_own() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../policy.schema.json");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == json_schema(),
        "policy.schema.json is out of date: regenerate it with `cargo run -p rearguard-shared --example policy-schema > policy.schema.json`"
    );
}

#[test]
fn a_route_moving_copies_to_cold_storage_is_not_refused_for_its_types() {
    // API Reference, `Lifecycle`: AWS Backup ignores MoveToColdStorageAfterDays for resource
    // types without cold storage, so a route taking RDS as well as EBS is valid.
    for types in [r#""resource_types": ["EBS", "RDS"], "#, ""] {
        let document = EXAMPLE.replace(
            r#""resource_types": ["EBS"], "jobs": "on_demand","#,
            &format!(
                r#"{types}"jobs": "on_demand", "lifecycle": {{"move_to_cold_storage_after_days": 30, "delete_after_days": 365}},"#
            ),
        );
        assert_ne!(document, EXAMPLE);
        let parsed = Document::parse(&document).unwrap_or_else(|e| panic!("{types}: {e}"));
        assert_eq!(
            parsed.copy_routes[0]
                .lifecycle
                .and_then(|l| l.move_to_cold_storage_after_days),
            Some(30)
        );
    }
}

#[test]
fn an_rto_target_is_optional_and_at_least_an_hour() {
    let doc = Document::parse(EXAMPLE).unwrap();
    assert_eq!(doc.plans["production"].rto_hours, Some(4));
    assert_eq!(doc.plans["staging"].rto_hours, None);
    let e = error_of(r#"{"plans": {"p": {"rpo_hours": 24, "rto_hours": 0}}}"#);
    assert_eq!(e.to_string(), "plans.p.rto_hours: must be at least 1");
}

#[test]
fn the_restore_test_schedule_is_optional_readable_and_its_grace_bounded() {
    let doc = Document::parse(EXAMPLE).unwrap();
    assert_eq!(doc.restore_tests, RestoreTests::default());
    assert_eq!((doc.restore_tests.schedule, doc.restore_tests.grace_hours), (None, 24));
    let doc = Document::parse(
        r#"{"plans": {"p": {"rpo_hours": 24}}, "restore_tests": {"schedule": "cron(0 5 1 * ? *)", "grace_hours": 48}}"#,
    )
    .unwrap();
    assert_eq!(doc.restore_tests.schedule.as_deref(), Some("cron(0 5 1 * ? *)"));
    let e = error_of(r#"{"plans": {"p": {"rpo_hours": 24}}, "restore_tests": {"schedule": "every saturday"}}"#);
    assert_eq!(e.path, "restore_tests.schedule");
    let e = error_of(r#"{"plans": {"p": {"rpo_hours": 24}}, "restore_tests": {"grace_hours": -1}}"#);
    assert_eq!(e.path, "restore_tests.grace_hours");
}

#[test]
fn a_user_check_is_a_lambda_function_of_a_known_type() {
    let doc = Document::parse(
        r#"{"plans": {"p": {"rpo_hours": 24}}, "restore_tests": {"user_checks": {"DynamoDB": "arn:aws:lambda:eu-west-1:111122223333:function:orders-check"}}}"#,
    )
    .unwrap();
    assert_eq!(
        doc.restore_tests.user_checks["DynamoDB"],
        "arn:aws:lambda:eu-west-1:111122223333:function:orders-check"
    );
    let e = error_of(
        r#"{"plans": {"p": {"rpo_hours": 24}}, "restore_tests": {"user_checks": {"Dynamo": "arn:aws:lambda:eu-west-1:111122223333:function:f"}}}"#,
    );
    assert_eq!(e.path, "restore_tests.user_checks.Dynamo");
    let e = error_of(
        r#"{"plans": {"p": {"rpo_hours": 24}}, "restore_tests": {"user_checks": {"EBS": "arn:aws:sns:eu-west-1:111122223333:topic"}}}"#,
    );
    assert_eq!(e.path, "restore_tests.user_checks.EBS");
    assert!(e.problem.contains("Lambda function ARN"), "{e}");
}
