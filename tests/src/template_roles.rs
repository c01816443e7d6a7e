//! Roles as Rearguard's stacks create them: a role of `templates/*.yaml` with the trust policy its
//! stack would give it for the given parameters (the template's own `AssumeRolePolicyDocument`,
//! its intrinsic functions resolved), and a function's own role, whose credentials the function
//! runs with as Lambda would run it. The local AWS evaluates trust policies as AWS does, so a
//! test passes only when the templates' trust policies let the functions in.

use aws_config::SdkConfig;
use serde_json::{Map, Value as Json, json};
use serde_yaml_ng::Value as Yaml;
use std::collections::HashMap;

use crate::backup_world::{acting_in, put_role};
use crate::local_aws;

/// The platform account the functions run in.
pub const PLATFORM: &str = "123456789012";

/// The ARN of a function's own role in the platform account. The names carry the logical id SAM
/// gives the role (`<Function>Role`), which destination-account.yaml's trust matches.
pub fn function_role_arn(role_name: &str) -> String {
    format!("arn:aws:iam::{PLATFORM}:role/{role_name}")
}

/// Creates the role `logical_id` of `templates/<template>` in `account`, as a stack of that
/// template with `parameters` (the others at their defaults) would; a role already there gets
/// this trust policy, as a stack update would give it. Panics when the template would not create
/// the role with these parameters.
pub async fn deploy_template_role(
    sdk: &SdkConfig,
    template: &str,
    logical_id: &str,
    account: &str,
    parameters: &[(&str, &str)],
) -> String {
    let (role_name, trust) = template_role(template, logical_id, account, parameters);
    put_role(sdk, (account != PLATFORM).then_some(account), &role_name, &trust).await;
    let policies = template_role_policies(template, logical_id, account, parameters);
    put_policies(sdk, account, &role_name, &policies).await;
    role_name
}

/// The inline policies (name, document) of the role `logical_id` of `templates/<template>`.
pub fn template_role_policies(
    template: &str,
    logical_id: &str,
    account: &str,
    parameters: &[(&str, &str)],
) -> Vec<(String, Json)> {
    let path = crate::workspace_root().join("templates").join(template);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document: Yaml = serde_yaml_ng::from_str(&text).expect("the template is YAML");
    let stack = Stack::new(&document, account, parameters);
    inline_policies(&stack, &document["Resources"][logical_id]["Properties"])
}

/// A role's `Policies` as (name, document), its intrinsic functions resolved.
fn inline_policies(stack: &Stack, properties: &Yaml) -> Vec<(String, Json)> {
    match stack.resolve(&properties["Policies"]) {
        Json::Array(policies) => policies
            .iter()
            .map(|p| (text(&p["PolicyName"]), p["PolicyDocument"].clone()))
            .collect(),
        Json::Null => Vec::new(),
        other => panic!("Policies is not a list: {other}"),
    }
}

/// The role's name and trust policy as the template defines them for these parameters.
pub fn template_role(template: &str, logical_id: &str, account: &str, parameters: &[(&str, &str)]) -> (String, Json) {
    let path = crate::workspace_root().join("templates").join(template);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document: Yaml = serde_yaml_ng::from_str(&text).expect("the template is YAML");
    let stack = Stack::new(&document, account, parameters);
    let resource = &document["Resources"][logical_id];
    assert_eq!(
        resource["Type"],
        Yaml::from("AWS::IAM::Role"),
        "{logical_id} in {template}"
    );
    if let Some(condition) = resource["Condition"].as_str() {
        assert!(
            stack.condition(condition),
            "{template} does not create {logical_id} with {parameters:?} (condition {condition})"
        );
    }
    let properties = &resource["Properties"];
    let name = stack.resolve(&properties["RoleName"]);
    let name = name.as_str().unwrap_or_else(|| panic!("{logical_id} has a RoleName"));
    (name.to_string(), stack.resolve(&properties["AssumeRolePolicyDocument"]))
}

/// The name of the role of the function whose binary is `binary`, as the stack names it:
/// `restore-drill` runs as `rearguard-RestoreDrillFunctionRole`.
pub fn function_role_name(binary: &str) -> String {
    let pascal: String = binary
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("rearguard-{pascal}FunctionRole")
}

/// The environment of a function running as its own role in the platform account: the role is
/// created (trusting lambda.amazonaws.com, as template.yaml's function roles do, and the
/// platform account, whose credentials this harness holds as it stands in for Lambda) with the
/// inline policies template.yaml gives it (`function_role_policies`, the stack at its default
/// parameters), and its session's credentials replace the harness's own. The local AWS enforces
/// those policies on the session's requests, action by action, so a permission the template
/// forgot fails the test.
pub async fn function_env_as(sdk: &SdkConfig, role_name: &str) -> Vec<(&'static str, String)> {
    function_env_as_configured(sdk, role_name, &[], &[]).await
}

/// `function_env_as` for a function configured with `settings` (environment variables): each
/// setting template.yaml takes from a parameter (`RESPOND: !Ref TamperResponse`) is that
/// parameter of the stack, so the role has the policies the stack would give it for them. The
/// stack's resources the policies name take the test's values (`("AlertTopic", topic_arn)`,
/// `("StateTable.Arn", table_arn)`); the others get names of their own (the local AWS does not
/// evaluate `Resource`).
pub async fn function_env_as_configured(
    sdk: &SdkConfig,
    role_name: &str,
    settings: &[(&str, &str)],
    resources: &[(&str, &str)],
) -> Vec<(&'static str, String)> {
    let parameters = parameters_of_settings(role_name, settings);
    let parameters: Vec<(&str, &str)> = parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    function_env_as_in_stack(sdk, role_name, &parameters, resources).await
}

/// The stack parameters behind a function's settings: `(Parameter, value)` for each setting whose
/// value template.yaml's function takes from `!Ref Parameter`.
pub fn parameters_of_settings(role_name: &str, settings: &[(&str, &str)]) -> Vec<(String, String)> {
    let function = role_name
        .strip_prefix("rearguard-")
        .and_then(|id| id.strip_suffix("Role"))
        .unwrap_or_else(|| panic!("{role_name} is not rearguard-<Function>Role"));
    let template = sam_transformed();
    let variables = &template["Resources"][function]["Properties"]["Environment"]["Variables"];
    settings
        .iter()
        .filter_map(|(name, value)| {
            let parameter = variables[*name]["Ref"].as_str()?;
            (!template["Parameters"][parameter].is_null()).then(|| (parameter.to_string(), value.to_string()))
        })
        .collect()
}

async fn function_env_as_in_stack(
    sdk: &SdkConfig,
    role_name: &str,
    parameters: &[(&str, &str)],
    resources: &[(&str, &str)],
) -> Vec<(&'static str, String)> {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{PLATFORM}:root")}, "Action": "sts:AssumeRole"}
        ]
    });
    put_role(sdk, None, role_name, &trust).await;
    let policies = function_role_policies(role_name, parameters, resources);
    put_policies(sdk, PLATFORM, role_name, &policies).await;
    let credentials = aws_sdk_sts::Client::new(sdk)
        .assume_role()
        .role_arn(function_role_arn(role_name))
        .role_session_name(role_name.chars().take(64).collect::<String>())
        .send()
        .await
        .unwrap_or_else(|e| panic!("assume {role_name}: {e:?}"))
        .credentials
        .expect("credentials");
    let mut env = local_aws::function_env();
    env.retain(|(k, _)| !matches!(*k, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN"));
    env.push(("AWS_ACCESS_KEY_ID", credentials.access_key_id));
    env.push(("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key));
    env.push(("AWS_SESSION_TOKEN", credentials.session_token));
    env
}

/// The inline policies (name, document) of a function's role as template.yaml gives it after
/// AWS SAM's transform (`scripts/sam_transform.py`: SAM policy templates expanded, the dead-letter
/// queue's policy added), for a stack in the platform account with these parameters and resource
/// values. The role's name is `rearguard-<logical id>`. Its AWS managed policies
/// (AWSLambdaBasicExecutionRole, AWSLambdaSQSQueueExecutionRole) are left out: they serve Lambda's
/// log delivery and queue polling, which no function's own code does.
pub fn function_role_policies(
    role_name: &str,
    parameters: &[(&str, &str)],
    resources: &[(&str, &str)],
) -> Vec<(String, Json)> {
    let logical_id = role_name
        .strip_prefix("rearguard-")
        .unwrap_or_else(|| panic!("{role_name} is not rearguard-<logical id>"));
    let template = sam_transformed();
    let resource = &template["Resources"][logical_id];
    assert_eq!(
        resource["Type"],
        Yaml::from("AWS::IAM::Role"),
        "{logical_id} in template.yaml after SAM's transform"
    );
    let mut stack = Stack::new(template, PLATFORM, parameters);
    stack.resources = resources.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    inline_policies(&stack, &resource["Properties"])
}

/// template.yaml after AWS SAM's transform, made once per test process.
fn sam_transformed() -> &'static Yaml {
    static TEMPLATE: std::sync::OnceLock<Yaml> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let root = crate::workspace_root();
        let output = std::process::Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/sam_transform.py"))
            .arg(root.join("template.yaml"))
            .arg(local_aws::REGION)
            .output()
            .expect("run scripts/sam_transform.py (make setup installs its .venv)");
        assert!(
            output.status.success(),
            "sam_transform.py: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("the transformed template is JSON")
    })
}

async fn put_policies(sdk: &SdkConfig, account: &str, role_name: &str, policies: &[(String, Json)]) {
    let admin = acting_in(sdk, (account != PLATFORM).then_some(account), local_aws::REGION).await;
    let iam = aws_sdk_iam::Client::new(&admin);
    for (name, document) in policies {
        // A document without Version is read as 2008-10-17 ("IAM JSON policy elements: Version"),
        // which moto refuses; its statements mean the same under 2012-10-17 as long as they use
        // no policy variables.
        let mut document = document.clone();
        if document.get("Version").is_none() {
            assert!(
                !document.to_string().contains("${aws:"),
                "{name} uses policy variables without a Version"
            );
            document["Version"] = json!("2012-10-17");
        }
        iam.put_role_policy()
            .role_name(role_name)
            .policy_name(name)
            .policy_document(document.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put policy {name} on {role_name} in {account}: {e:?}"));
    }
}

/// A stack's view of its template: parameters (given or default), pseudo parameters, conditions.
struct Stack<'a> {
    template: &'a Yaml,
    account: String,
    parameters: HashMap<String, Json>,
    /// Values of the stack's resources, by `LogicalId` (Ref) or `LogicalId.Attribute` (GetAtt).
    resources: HashMap<String, String>,
}

impl<'a> Stack<'a> {
    fn new(template: &'a Yaml, account: &str, given: &[(&str, &str)]) -> Stack<'a> {
        let given: HashMap<&str, &str> = given.iter().copied().collect();
        let mut parameters = HashMap::new();
        for (name, definition) in template["Parameters"].as_mapping().into_iter().flatten() {
            let name = name.as_str().expect("parameter name");
            let value = given
                .get(name)
                .map(|v| v.to_string())
                .or_else(|| yaml_scalar(&definition["Default"]))
                .unwrap_or_else(|| panic!("parameter {name} has no value and no default"));
            let value = if definition["Type"].as_str().unwrap_or("").ends_with("List") {
                Json::Array(value.split(',').map(|s| Json::from(s.trim())).collect())
            } else {
                Json::from(value)
            };
            parameters.insert(name.to_string(), value);
        }
        for name in given.keys() {
            assert!(parameters.contains_key(*name), "the template has no parameter {name}");
        }
        Stack {
            template,
            account: account.to_string(),
            parameters,
            resources: HashMap::new(),
        }
    }

    fn reference(&self, name: &str) -> Option<Json> {
        match name {
            "AWS::Partition" => Some(Json::from("aws")),
            "AWS::AccountId" => Some(Json::from(self.account.clone())),
            "AWS::Region" => Some(Json::from(local_aws::REGION)),
            "AWS::NoValue" => None,
            other if !self.template["Resources"][other].is_null() => {
                Some(Json::from(self.resources.get(other).cloned().unwrap_or_else(|| {
                    // A topic's Ref is its ARN; the other resources' Refs in these templates are names.
                    match self.template["Resources"][other]["Type"].as_str() {
                        Some("AWS::SNS::Topic") => {
                            format!("arn:aws:sns:{}:{}:rearguard-{other}", local_aws::REGION, self.account)
                        }
                        _ => format!("rearguard-{other}"),
                    }
                })))
            }
            other => Some(
                self.parameters
                    .get(other)
                    .cloned()
                    .unwrap_or_else(|| panic!("Ref {other}: not a parameter")),
            ),
        }
    }

    /// `Fn::GetAtt` of a resource: its given value, or an ARN of its own.
    fn attribute(&self, resource: &str, attribute: &str) -> Json {
        assert!(
            !self.template["Resources"][resource].is_null(),
            "GetAtt {resource}: no such resource"
        );
        let key = format!("{resource}.{attribute}");
        Json::from(self.resources.get(&key).cloned().unwrap_or_else(|| {
            format!(
                "arn:aws:rearguard:{}:{}:{resource}/{attribute}",
                local_aws::REGION,
                self.account
            )
        }))
    }

    fn condition(&self, name: &str) -> bool {
        let definition = &self.template["Conditions"][name];
        assert!(!definition.is_null(), "no condition {name}");
        self.truth(definition)
    }

    fn truth(&self, value: &Yaml) -> bool {
        let (function, argument) = intrinsic(value).unwrap_or_else(|| panic!("not a condition: {value:?}"));
        let list = || argument.as_sequence().cloned().unwrap_or_default();
        match function.as_str() {
            "Not" => !self.truth(&list()[0]),
            "And" => list().iter().all(|v| self.truth(v)),
            "Or" => list().iter().any(|v| self.truth(v)),
            "Equals" => {
                let items = list();
                self.resolve(&items[0]) == self.resolve(&items[1])
            }
            "Condition" => self.condition(argument.as_str().expect("condition name")),
            other => panic!("condition function {other} is not modelled"),
        }
    }

    /// The value after intrinsic functions; `AWS::NoValue` leaves out the key or item.
    fn resolve(&self, value: &Yaml) -> Json {
        self.resolve_opt(value).unwrap_or(Json::Null)
    }

    fn resolve_opt(&self, value: &Yaml) -> Option<Json> {
        if let Some((function, argument)) = intrinsic(value) {
            let list = || argument.as_sequence().cloned().unwrap_or_default();
            return match function.as_str() {
                "Ref" => self.reference(argument.as_str().expect("Ref name")),
                "Sub" => match &argument {
                    Yaml::String(s) => Some(Json::from(self.substitute(s))),
                    other => panic!("Fn::Sub with variables is not modelled: {other:?}"),
                },
                "GetAtt" => {
                    let parts: Vec<String> = match &argument {
                        Yaml::String(s) => s.splitn(2, '.').map(str::to_string).collect(),
                        other => other
                            .as_sequence()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                    };
                    Some(self.attribute(&parts[0], &parts[1]))
                }
                "If" => {
                    let items = list();
                    let branch = if self.condition(items[0].as_str().expect("If condition")) {
                        1
                    } else {
                        2
                    };
                    self.resolve_opt(&items[branch])
                }
                "Join" => {
                    let items = list();
                    let separator = items[0].as_str().unwrap_or("").to_string();
                    let parts: Vec<String> = match self.resolve(&items[1]) {
                        Json::Array(parts) => parts.iter().map(text).collect(),
                        other => vec![text(&other)],
                    };
                    Some(Json::from(parts.join(&separator)))
                }
                "Select" => {
                    let items = list();
                    let index = items[0]
                        .as_u64()
                        .or_else(|| items[0].as_str()?.parse().ok())
                        .expect("Select index");
                    match self.resolve(&items[1]) {
                        Json::Array(values) => values.get(index as usize).cloned(),
                        other => panic!("Select from {other}"),
                    }
                }
                "Split" => {
                    let items = list();
                    let separator = items[0].as_str().expect("Split separator");
                    let whole = text(&self.resolve(&items[1]));
                    Some(Json::Array(whole.split(separator).map(Json::from).collect()))
                }
                other => panic!("intrinsic function {other} is not modelled"),
            };
        }
        Some(match value {
            Yaml::Mapping(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    if let Some(v) = self.resolve_opt(v) {
                        out.insert(k.as_str().expect("string key").to_string(), v);
                    }
                }
                Json::Object(out)
            }
            Yaml::Sequence(items) => Json::Array(items.iter().filter_map(|v| self.resolve_opt(v)).collect()),
            Yaml::String(s) => Json::from(s.clone()),
            Yaml::Bool(b) => Json::from(*b),
            Yaml::Number(n) => serde_json::to_value(n).expect("number"),
            Yaml::Null => Json::Null,
            Yaml::Tagged(_) => unreachable!("tags are intrinsics"),
        })
    }

    fn substitute(&self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("closing brace") + start;
            let name = &rest[start + 2..end];
            let value = match name.split_once('.') {
                Some((resource, attribute)) if !name.starts_with("AWS::") => self.attribute(resource, attribute),
                _ => self.reference(name).unwrap_or(Json::Null),
            };
            out.push_str(&text(&value));
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// `!Fn value` or `{Fn::Fn: value}` / `{Ref: name}` / `{Condition: name}` as (Fn, value).
fn intrinsic(value: &Yaml) -> Option<(String, Yaml)> {
    match value {
        Yaml::Tagged(tagged) => Some((
            tagged.tag.to_string().trim_start_matches('!').to_string(),
            tagged.value.clone(),
        )),
        Yaml::Mapping(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next()?;
            let key = key.as_str()?;
            let name = key
                .strip_prefix("Fn::")
                .or(matches!(key, "Ref" | "Condition").then_some(key))?;
            Some((name.to_string(), inner.clone()))
        }
        _ => None,
    }
}

fn yaml_scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text(value: &Json) -> String {
    value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_member_roles_trust_the_central_function_role_only() {
        let central = function_role_arn("rearguard-TagEnrollmentFunctionRole");
        let (name, trust) = template_role(
            "member-account.yaml",
            "TagEnrollmentMemberRole",
            "444455556666",
            &[("CentralAccountId", PLATFORM), ("CentralRoleArn", &central)],
        );
        assert_eq!(name, "rearguard-tag-enrollment");
        let statement = &trust["Statement"][0];
        assert_eq!(statement["Principal"]["AWS"], json!("arn:aws:iam::123456789012:root"));
        assert_eq!(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"], json!(central));
    }

    #[test]
    fn the_vault_check_role_follows_the_branch_its_parameters_choose() {
        let (name, by_accounts) = template_role(
            "destination-account.yaml",
            "VaultCheckRole",
            "444455556666",
            &[("SourceAccountIds", PLATFORM)],
        );
        assert_eq!(name, "rearguard-vault-check");
        let statement = &by_accounts["Statement"][0];
        assert_eq!(statement["Principal"]["AWS"], json!([PLATFORM]));
        assert_eq!(
            statement["Condition"]["ArnLike"]["aws:PrincipalArn"],
            json!("arn:aws:iam::*:role/*CrossAccountCopyFunctionRole*")
        );
        let role = function_role_arn("rearguard-CrossAccountCopyFunctionRole");
        let (_, by_roles) = template_role(
            "destination-account.yaml",
            "VaultCheckRole",
            "444455556666",
            &[("SourceFunctionRoleArns", &role)],
        );
        assert_eq!(by_roles["Statement"][0]["Principal"]["AWS"], json!([role]));
        assert!(by_roles["Statement"][0].get("Condition").is_none(), "{by_roles}");
    }

    #[test]
    fn a_function_role_has_the_template_statements_after_sams_transform() {
        let topic = "arn:aws:sns:eu-west-1:123456789012:alerts";
        let policies = function_role_policies("rearguard-JobAlertsFunctionRole", &[], &[("AlertTopic", topic)]);
        let statements: Vec<&Json> = policies
            .iter()
            .flat_map(|(_, document)| document["Statement"].as_array().into_iter().flatten())
            .collect();
        let publish = statements
            .iter()
            .find(|s| s["Sid"] == json!("PublishAlerts"))
            .expect("PublishAlerts");
        assert_eq!(publish["Action"], json!("sns:Publish"));
        assert_eq!(publish["Resource"], json!(topic));
        // SAM adds the dead-letter queue's statement to the role.
        assert!(
            statements.iter().any(|s| s["Action"] == json!("sqs:SendMessage")),
            "{policies:?}"
        );
    }

    #[test]
    fn a_binary_runs_as_its_functions_role() {
        assert_eq!(
            function_role_name("restore-drill"),
            "rearguard-RestoreDrillFunctionRole"
        );
        assert_eq!(function_role_name("job-alerts"), "rearguard-JobAlertsFunctionRole");
    }

    #[test]
    fn a_setting_taken_from_a_parameter_sets_that_parameter() {
        let parameters = parameters_of_settings(
            "rearguard-TamperGuardFunctionRole",
            &[
                ("RESPOND", "true"),
                ("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:t"),
            ],
        );
        assert_eq!(parameters, vec![("TamperResponse".to_string(), "true".to_string())]);
    }

    #[test]
    #[should_panic(expected = "does not create ComplianceReaderRole")]
    fn a_role_the_parameters_leave_out_is_not_deployed() {
        template_role(
            "member-account.yaml",
            "ComplianceReaderRole",
            "444455556666",
            &[
                ("CentralAccountId", PLATFORM),
                ("CentralRoleArn", "arn:aws:iam::123456789012:role/x"),
            ],
        );
    }
}
