"""What the deployable templates promise, read from the templates themselves (no AWS, no network).

Each test names the AWS behaviour it guards; the template cites the same documentation page.
Run: .venv/bin/pytest tests/templates (part of `make test`).
"""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_FILES = [ROOT / "template.yaml", *sorted((ROOT / "templates").glob("*.yaml"))]
RULE_EVENT_TYPES = {"EventBridgeRule", "Schedule", "CloudWatchEvent"}
GUARDED_KEY_ACTIONS = {"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"}

sys.path.insert(0, str(ROOT / "scripts"))
from cfn_yaml import load  # noqa: E402


@pytest.fixture(scope="module")
def stack():
    return load(ROOT / "template.yaml")


def resources(template, kind):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def as_list(value):
    return value if isinstance(value, list) else [value]


def getatt(value, attribute="Arn"):
    """The logical id a `!GetAtt X.<attribute>` names, else None."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target, attr = value["Fn::GetAtt"]
        if attr == attribute:
            return target
    return None


def default_of(template, value):
    """A literal, or a parameter's default."""
    if isinstance(value, dict) and "Ref" in value:
        return template["Parameters"][value["Ref"]].get("Default")
    return value


def condition_holds(template, condition, parameters=None):
    """Evaluates Fn::Equals/Not/And/Or/Condition with the parameters' defaults (or overrides)."""
    parameters = parameters or {}

    def value(v):
        if isinstance(v, dict) and "Ref" in v:
            name = v["Ref"]
            if name in parameters:
                return str(parameters[name])
            default = template["Parameters"][name].get("Default", "")
            if template["Parameters"][name]["Type"] == "CommaDelimitedList":
                return default
            return str(default)
        if isinstance(v, dict) and "Fn::Join" in v:
            separator, items = v["Fn::Join"]
            return separator.join(x for x in value(items).split(",") if x) if isinstance(items, dict) else separator.join(items)
        return str(v)

    def holds(c):
        if isinstance(c, str):
            return holds(template["Conditions"][c])
        (op, args), = c.items()
        if op == "Fn::Equals":
            return value(args[0]) == value(args[1])
        if op == "Fn::Not":
            return not holds(args[0])
        if op == "Fn::And":
            return all(holds(a) for a in args)
        if op == "Fn::Or":
            return any(holds(a) for a in args)
        if op == "Condition":
            return holds(template["Conditions"][args])
        raise AssertionError(f"condition operator {op} not understood")

    return holds(condition)


def functions(template):
    return {
        **resources(template, "AWS::Serverless::Function"),
        **resources(template, "AWS::Lambda::Function"),
    }


def function_setting(template, function, name, fallback):
    globals_ = template.get("Globals", {}).get("Function", {})
    return function["Properties"].get(name, globals_.get(name, fallback))


def sqs_event_sources(template):
    """(function id, function, event properties, queue id) for each SQS event source."""
    for fid, function in resources(template, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                yield fid, function, event["Properties"], getatt(event["Properties"]["Queue"])


def rule_dead_letter_queues(template):
    """(rule logical id, queue logical id) for every EventBridge rule target with a DLQ,
    including the rules SAM creates from a function's events (named function id + event id)."""
    found = []
    for rid, rule in resources(template, "AWS::Events::Rule").items():
        for target in rule["Properties"].get("Targets", []):
            if "DeadLetterConfig" in target:
                found.append((rid, getatt(target["DeadLetterConfig"]["Arn"])))
    for fid, function in resources(template, "AWS::Serverless::Function").items():
        for eid, event in function["Properties"].get("Events", {}).items():
            config = event.get("Properties", {}).get("DeadLetterConfig")
            if event["Type"] in RULE_EVENT_TYPES and config:
                assert "Arn" in config, f"{fid}.{eid}: a DLQ of Type SQS gets SAM's own policy; name the queue instead"
                found.append((fid + eid, getatt(config["Arn"])))
    return found


# "Using dead-letter queues to process undelivered events" (EventBridge): the rule needs the
# queue's permission to send there, and SAM adds one only for `DeadLetterConfig: {Type: SQS}`.
def test_every_rule_dead_letter_queue_lets_exactly_its_rules_send(stack):
    pairs = rule_dead_letter_queues(stack)
    assert len(pairs) >= 13, pairs  # the job events rule, six enrollment, one copy, two report, three tamper rules
    policies = resources(stack, "AWS::SQS::QueuePolicy").values()
    for rule, queue in pairs:
        assert queue, f"{rule}: the dead-letter queue must be a queue of this template"
        allowed = []
        for policy in policies:
            if {"Ref": queue} not in policy["Properties"]["Queues"]:
                continue
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if (
                    statement["Effect"] == "Allow"
                    and statement.get("Principal") == {"Service": "events.amazonaws.com"}
                    and "sqs:SendMessage" in as_list(statement["Action"])
                    and {"Fn::GetAtt": [queue, "Arn"]} in as_list(statement["Resource"])
                ):
                    condition = statement.get("Condition", {})
                    assert set(condition) <= {"ArnEquals", "ArnLike"}, (
                        f"{queue}: EventBridge's permission must be scoped by aws:SourceArn, not {condition}"
                    )
                    for test in condition.values():
                        allowed.extend(as_list(test.get("aws:SourceArn", [])))
        assert {"Fn::GetAtt": [rule, "Arn"]} in allowed, (
            f"{queue} has no queue policy letting events.amazonaws.com send for rule {rule}: "
            "its undeliverable events would be lost"
        )


# "Lambda reserved concurrency": Lambda keeps 100 executions of the account unreserved, so a
# default reservation fails in accounts with a low quota.
def test_no_function_reserves_concurrency_by_default(stack):
    for fid, function in functions(stack).items():
        reserved = function_setting(stack, function, "ReservedConcurrentExecutions", None)
        if reserved is None:
            continue
        assert isinstance(reserved, dict) and "Fn::If" in reserved, f"{fid} always reserves {reserved}"
        condition, _, otherwise = reserved["Fn::If"]
        assert not condition_holds(stack, condition), f"{fid} reserves concurrency with the default parameters"
        assert otherwise == {"Ref": "AWS::NoValue"}, fid
        # and with a reservation it reserves the stack's parameter
        assert condition_holds(stack, condition, {"ReservedConcurrency": "10"}), fid


# A reservation at or below an SQS mapping's MaximumConcurrency throttles the pollers and moves
# messages to the dead-letter queue; compliance-report also runs on its schedule.
def test_a_reservation_always_exceeds_what_the_queues_may_use(stack):
    pattern = re.compile(stack["Parameters"]["ReservedConcurrency"]["AllowedPattern"])
    accepted = [n for n in range(0, 10001) if pattern.fullmatch(str(n))]
    assert accepted[0] == 0 and len(accepted) > 1
    for fid, function, event, _ in sqs_event_sources(stack):
        concurrency = event.get("ScalingConfig", {}).get("MaximumConcurrency")
        assert concurrency, f"{fid}: an SQS mapping must bound its concurrency with MaximumConcurrency"
        other_triggers = sum(1 for e in function["Properties"]["Events"].values() if e["Type"] != "SQS")
        smallest = min(n for n in accepted if n > 0)
        assert smallest >= concurrency + min(other_triggers, 1), (
            f"{fid}: a reservation of {smallest} leaves its queue's {concurrency} pollers throttled"
        )


# "Lambda parameters for Amazon SQS event source mappings": a BatchSize above 10 needs a
# MaximumBatchingWindowInSeconds of at least 1.
def test_batching_windows_are_valid(stack):
    checked = 0
    for fid, _, event, _ in sqs_event_sources(stack):
        size = event.get("BatchSize", 10)
        window = event.get("MaximumBatchingWindowInSeconds", 0)
        if isinstance(size, dict):
            parameter = stack["Parameters"][size["Ref"]]
            assert "MaxValue" in parameter, f"{fid}: BatchSize must be capped"
            largest = parameter["MaxValue"]
        else:
            largest = size
        if isinstance(window, dict):
            smallest_window = stack["Parameters"][window["Ref"]].get("MinValue", 0)
        else:
            smallest_window = window
        if largest > 10:
            assert smallest_window >= 1, f"{fid}: BatchSize up to {largest} with a batching window of {smallest_window} s"
        checked += 1
    assert checked >= 2


# "Creating and configuring an Amazon SQS event source mapping": the queue's visibility timeout
# at least six times the consumer's timeout.
def test_visibility_timeouts_are_six_times_the_consumer_timeout(stack):
    queues = resources(stack, "AWS::SQS::Queue")
    checked = 0
    for fid, function, _, queue in sqs_event_sources(stack):
        assert queue in queues, f"{fid}: its queue must be a queue of this template"
        timeout = function_setting(stack, function, "Timeout", 3)
        visibility = queues[queue]["Properties"].get("VisibilityTimeout", 30)
        assert visibility >= 6 * timeout, f"{queue}: {visibility} s against {fid}'s {timeout} s"
        checked += 1
    assert checked >= 2


def key_ids_protecting_retained_data(template):
    """The KMS keys of the template's backup vaults and of every other retained resource."""
    keys = resources(template, "AWS::KMS::Key")
    found = {}
    for rid, resource in template["Resources"].items():
        retained = resource.get("DeletionPolicy") == "Retain" or resource["Type"] == "AWS::Backup::BackupVault"
        if not retained:
            continue
        text = repr(resource.get("Properties", {}))
        for key in keys:
            if f"'Fn::GetAtt': ['{key}', 'Arn']" in text or f"'Ref': '{key}'" in text:
                found.setdefault(key, []).append(rid)
    return found


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_every_vault_key_is_retained_and_only_break_glass_can_destroy_it(path):
    template = load(path)
    vaults = resources(template, "AWS::Backup::BackupVault")
    protected = key_ids_protecting_retained_data(template)
    for vid, vault in vaults.items():
        key = getatt(vault["Properties"].get("EncryptionKeyArn"))
        assert key in protected, f"{vid} must be encrypted with a customer managed key of this template"
    for key, users in protected.items():
        resource = template["Resources"][key]
        assert resource.get("DeletionPolicy") == "Retain", f"{key} (used by {users}) is deleted with the stack"
        assert resource.get("UpdateReplacePolicy") == "Retain", f"{key} (used by {users}) is deleted on replacement"
        assert "BreakGlassRoleName" in template["Parameters"], path.name
        denies = [
            s
            for s in resource["Properties"]["KeyPolicy"]["Statement"]
            if isinstance(s, dict) and s.get("Effect") == "Deny"
        ]
        guarded = set()
        for statement in denies:
            assert statement["Principal"] == "*", statement
            exempt = statement.get("Condition", {}).get("ArnNotEquals", {}).get("aws:PrincipalArn")
            assert exempt == {
                "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${BreakGlassRoleName}"
            }, f"{key}: the deny must exempt exactly the break-glass role, not {exempt}"
            guarded |= set(as_list(statement["Action"]))
        assert GUARDED_KEY_ACTIONS <= guarded, f"{key}: {GUARDED_KEY_ACTIONS - guarded} not denied"
    if path.name != "member-account.yaml":
        assert protected, f"{path.name}: no retained key found"


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_no_partition_is_hard_coded(path):
    lines = [f"{n}: {line.strip()}" for n, line in enumerate(path.read_text().splitlines(), 1) if "arn:aws:" in line]
    assert not lines, f"{path.name} hard-codes the aws partition (use ${{AWS::Partition}}):\n" + "\n".join(lines)


# cross-account-copy assumes DestinationRoleName in each destination account to confirm the vault
# exists; AssumeRole of a role that is not there is AccessDenied ("Troubleshoot IAM roles"), and
# the copy then starts unchecked with a warning. The destination template creates the role
# whenever its vault takes copies, and an empty DestinationRoleName means no check (no AssumeRole).
def test_the_destination_template_creates_the_vault_check_role_whenever_its_vault_takes_copies():
    destination = load(ROOT / "templates" / "destination-account.yaml")
    role = destination["Resources"]["VaultCheckRole"]
    for parameters in ({"SourceAccountIds": "111122223333"}, {"OrganizationId": "o-abc123"},
                       {"SourceFunctionRoleArns": "arn:aws:iam::111122223333:role/x"}):
        assert condition_holds(destination, role["Condition"], parameters), parameters
    assert role["Properties"]["RoleName"] == {"Ref": "VaultCheckRoleName"}
    assert destination["Parameters"]["VaultCheckRoleName"]["Default"] == "rearguard-vault-check"


def test_an_empty_destination_role_name_is_allowed_and_drops_the_assume_role_permission(stack):
    parameter = stack["Parameters"]["DestinationRoleName"]
    assert re.fullmatch(parameter["AllowedPattern"], "")
    assert parameter["Default"] == "rearguard-vault-check"
    statements = stack["Resources"]["CrossAccountCopyFunction"]["Properties"]["Policies"][0]["Statement"]
    guarded = [s for s in statements if isinstance(s, dict) and "Fn::If" in s]
    check = [s["Fn::If"] for s in guarded if s["Fn::If"][1].get("Sid") == "CheckDestinationVaults"]
    assert len(check) == 1 and check[0][2] == {"Ref": "AWS::NoValue"}
    assert not condition_holds(stack, check[0][0], {"DestinationRoleName": ""})
    assert condition_holds(stack, check[0][0])


def test_the_seed_backup_role_backs_up_s3_only_when_asked_and_never_restores(stack):
    role = stack["Resources"]["SeedBackupRole"]["Properties"]
    plain = [p for p in role["ManagedPolicyArns"] if not (isinstance(p, dict) and "Fn::If" in p)]
    guarded = [p["Fn::If"] for p in role["ManagedPolicyArns"] if isinstance(p, dict) and "Fn::If" in p]
    assert len(guarded) == 1 and "AWSBackupServiceRolePolicyForS3Backup" in str(guarded[0][1])
    assert not condition_holds(stack, guarded[0][0], {"SeedBackupSetup": "true"})
    assert condition_holds(stack, guarded[0][0], {"SeedBackupSetup": "true", "SeedBackupS3": "true"})
    assert not any("Restore" in str(p) for p in plain + [g[1] for g in guarded])


# "DB cluster snapshot copying" (Aurora User Guide) and "Copying a DB snapshot for Amazon RDS": a
# copy to another Region and account in one step needs the source vault's access policy to allow
# backup:CopyFromBackupVault to the destination account; cross-account-copy reads both vaults'
# policies first, the destination's through the vault-check role.
def test_the_seed_vaults_let_the_destination_accounts_copy_out_and_the_policies_can_be_read(stack):
    for name in ("ProductionVault", "StagingVault"):
        policy = stack["Resources"][name]["Properties"]["AccessPolicy"]["Fn::If"]
        assert policy[0] == "SharesBackupKey" and policy[2] == {"Ref": "AWS::NoValue"}
        statement = policy[1]["Statement"][0]
        assert (statement["Effect"], statement["Action"]) == ("Allow", "backup:CopyFromBackupVault")
        assert statement["Principal"] == {"AWS": {"Ref": "CopyDestinationAccounts"}}
    statements = stack["Resources"]["CrossAccountCopyFunction"]["Properties"]["Policies"][0]["Statement"]
    check = [s for s in statements if isinstance(s, dict) and s.get("Sid") == "CheckVaults"]
    assert "backup:GetBackupVaultAccessPolicy" in check[0]["Action"]
    destination = load(ROOT / "templates" / "destination-account.yaml")
    role = destination["Resources"]["VaultCheckRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert "backup:GetBackupVaultAccessPolicy" in role["Statement"][0]["Action"]


# "Malware scan job events" (AWS Backup Developer Guide): a scan's verdict is final only in its
# ended states. Copies with require_clean_scan start on those events; the hourly sweep finds the
# scans that never came, within the 30 days ListBackupJobs and ListScanJobs cover.
def test_cross_account_copy_hears_only_ended_scans_and_sweeps_hourly_for_missing_ones(stack):
    function = stack["Resources"]["CrossAccountCopyFunction"]["Properties"]
    events = function["Events"]
    assert events["ScanEnded"]["Properties"]["Pattern"] == {
        "source": ["aws.backup"],
        "detail-type": ["Scan Job State Change"],
        "detail": {"state": ["COMPLETED", "COMPLETED_WITH_ISSUES", "FAILED", "CANCELED"]},
    }
    assert events["CleanScanSweep"]["Type"] == "Schedule"
    assert events["CleanScanSweep"]["Properties"]["Schedule"] == "rate(1 hour)"
    assert function["Environment"]["Variables"]["CLEAN_SCAN_WAIT_HOURS"] == {"Ref": "CleanScanWaitHours"}
    wait = stack["Parameters"]["CleanScanWaitHours"]
    # The function's own bounds (scan_wait::MAX_WAIT_HOURS): the wait plus a week's look-back.
    assert (wait["Default"], wait["MinValue"], wait["MaxValue"]) == (24, 1, 504)
    statements = function["Policies"][0]["Statement"]
    lists = [s for s in statements if isinstance(s, dict) and s.get("Sid") == "FindScansAndTheBackupsWaitingForThem"]
    assert sorted(lists[0]["Action"]) == ["backup:ListBackupJobs", "backup:ListScanJobs"]


# tamper-guard: "Logging AWS Backup API calls with AWS CloudTrail" (source aws.backup) and the
# KMS calls on a vault key reach the function in the central account, and every member account
# forwards the same calls, so an attack in a member account is judged too.
TAMPER_BACKUP_CALLS = {
    "DeleteRecoveryPoint", "UpdateRecoveryPointLifecycle", "DisassociateRecoveryPoint",
    "DisassociateRecoveryPointFromParent", "DeleteBackupVault", "PutBackupVaultAccessPolicy",
    "DeleteBackupVaultAccessPolicy", "PutBackupVaultLockConfiguration", "DeleteBackupVaultLockConfiguration",
    "DeleteBackupVaultNotifications", "DeleteBackupPlan", "UpdateBackupPlan", "DeleteBackupSelection",
    "UpdateRegionSettings", "UpdateGlobalSettings", "DeleteFramework", "DeleteReportPlan",
    "DeleteRestoreTestingPlan", "DeleteRestoreTestingSelection", "CancelLegalHold",
    "DisassociateBackupVaultMpaApprovalTeam", "RevokeRestoreAccessBackupVault",
}
TAMPER_KEY_CALLS = {"ScheduleKeyDeletion", "DisableKey", "PutKeyPolicy", "CreateGrant", "RevokeGrant"}


def event_names(patterns, event_source):
    names = set()
    for pattern in patterns:
        if event_source in pattern.get("detail", {}).get("eventSource", []):
            names |= set(pattern["detail"]["eventName"])
    return names


def test_tamper_guard_takes_every_tamper_call_in_the_central_and_member_accounts(stack):
    events = stack["Resources"]["TamperGuardFunction"]["Properties"]["Events"]
    central = [e["Properties"]["Pattern"] for e in events.values()]
    member = load(ROOT / "templates" / "member-account.yaml")["Resources"]["ForwardTamperEvents"]
    forwarded = member["Properties"]["EventPattern"]["$or"]
    for patterns in (central, forwarded):
        assert event_names(patterns, "backup.amazonaws.com") == TAMPER_BACKUP_CALLS
        assert event_names(patterns, "kms.amazonaws.com") == TAMPER_KEY_CALLS


def test_tamper_guard_may_rescue_keys_and_policies_only_when_the_response_is_on(stack):
    function = stack["Resources"]["TamperGuardFunction"]["Properties"]
    assert function["Environment"]["Variables"]["RESPOND"] == {"Ref": "TamperResponse"}
    assert stack["Parameters"]["TamperResponse"]["Default"] == "false"
    rescue = [p for p in function["Policies"] if "Fn::If" in p and p["Fn::If"][0] == "RespondsToTamper"]
    assert len(rescue) == 1
    actions = {a for s in rescue[0]["Fn::If"][1]["Statement"] for a in as_list(s["Action"])}
    assert actions == {"kms:CancelKeyDeletion", "kms:EnableKey", "backup:PutBackupVaultAccessPolicy"}
    assert not condition_holds(stack, "RespondsToTamper")
    assert condition_holds(stack, "RespondsToTamper", {"TamperResponse": "true"})
    always = [s for p in function["Policies"] if "Statement" in p for s in p["Statement"]]
    assert not any(actions & set(as_list(s["Action"])) for s in always)


# A member account's KMS event is matched against that account's vaults through a read-only role
# there, only when the central stack names it; the member role lists vaults and nothing else.
def test_tamper_guard_reads_member_vault_keys_only_through_a_list_only_role_it_is_given(stack):
    function = stack["Resources"]["TamperGuardFunction"]["Properties"]
    assert function["Environment"]["Variables"]["MEMBER_ROLE_NAME"] == {"Ref": "TamperReaderRoleName"}
    assert stack["Parameters"]["TamperReaderRoleName"]["Default"] == ""
    assume = [p["Fn::If"] for p in function["Policies"] if "Fn::If" in p and p["Fn::If"][0] == "ReadsMemberVaultKeys"]
    assert len(assume) == 1
    assert [s["Action"] for s in assume[0][1]["Statement"]] == ["sts:AssumeRole"]
    assert not condition_holds(stack, "ReadsMemberVaultKeys")
    assert condition_holds(stack, "ReadsMemberVaultKeys", {"TamperReaderRoleName": "rearguard-tamper-reader"})
    always = [s for p in function["Policies"] if "Statement" in p for s in p["Statement"]]
    assert not any("sts:AssumeRole" in as_list(s["Action"]) for s in always)
    member = load(ROOT / "templates" / "member-account.yaml")
    role = member["Resources"]["TamperGuardReaderRole"]
    assert not condition_holds(member, role["Condition"])
    assert condition_holds(member, role["Condition"], {"TamperGuardRoleArn": "arn:aws:iam::111122223333:role/x"})
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"]["ArnEquals"]["aws:PrincipalArn"] == {"Ref": "TamperGuardRoleArn"}
    actions = [a for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"] for a in as_list(s["Action"])]
    assert actions == ["backup:ListBackupVaults"]
    assert member["Parameters"]["TamperReaderRoleName"]["Default"] == "rearguard-tamper-reader"


# --- restore-drill ----------------------------------------------------------------------------

# "Monitoring AWS Backup events using Amazon EventBridge": restore events carry `status`, and only
# COMPLETED names the restore testing plan, so the FAILED and ABORTED ones are heard too.
def test_restore_drill_hears_every_ended_restore_and_may_write_only_the_validation_result(stack):
    function = stack["Resources"]["RestoreDrillFunction"]
    pattern = function["Properties"]["Events"]["RestoreTestEnded"]["Properties"]["Pattern"]
    assert pattern["detail-type"] == ["Restore Job State Change"]
    assert set(pattern["detail"]["status"]) == {"COMPLETED", "FAILED", "ABORTED"}
    assert "state" not in pattern["detail"]
    actions = set()
    for statement in function["Properties"]["Policies"][0]["Statement"]:
        if "Fn::If" in statement:  # the user checks, tested below
            continue
        actions.update(as_list(statement["Action"]))
    writes = {a for a in actions if not re.match(r"^[a-z0-9]+:(Describe|Get|List|Scan)", a)}
    assert writes == {"backup:PutRestoreValidationResult", "sns:Publish", "dynamodb:PutItem",
                      "dynamodb:DeleteItem", "kms:GenerateDataKey", "kms:Decrypt"}, writes
    assert function["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / "Makefile").read_text()
    assert "build-RestoreDrillFunction:" in makefile and "restore-drill/bootstrap" in makefile


# "DescribeRestoreJob": job-alerts reads CreatedBy.RestoreTestingPlanArn of a failed restore, to
# leave restore tests to restore-drill.
def test_job_alerts_may_describe_restore_jobs(stack):
    function = stack["Resources"]["JobAlertsFunction"]
    actions = {a for p in function["Properties"]["Policies"] for s in p.get("Statement", []) for a in as_list(s["Action"])}
    assert "backup:DescribeRestoreJob" in actions


# restore-drill may invoke only the user-check functions it is given, and none by default.
def test_restore_drill_invokes_only_the_user_checks_it_is_given(stack):
    function = stack["Resources"]["RestoreDrillFunction"]
    (invoke,) = [s for s in function["Properties"]["Policies"][0]["Statement"] if "InvokeUserChecks" in str(s)]
    condition, statement, otherwise = invoke["Fn::If"]
    assert condition == "HasRestoreChecks" and otherwise == {"Ref": "AWS::NoValue"}
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == {"Ref": "RestoreCheckFunctionArns"}
    assert not condition_holds(stack, "HasRestoreChecks")
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:orders-check"
    assert condition_holds(stack, "HasRestoreChecks", {"RestoreCheckFunctionArns": arn})


# The drill record: encrypted with the Rearguard key, point-in-time recovery on, no TTL (it is
# history); restore-drill may only put into it, and the index is the one the code queries.
def test_the_drill_record_is_encrypted_recoverable_written_by_restore_drill_and_read_by_compliance_report(stack):
    table = stack["Resources"]["DrillRecordTable"]["Properties"]
    assert table["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "RearguardKey"}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert "TimeToLiveSpecification" not in table
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["restore_job_id"]
    (index,) = table["GlobalSecondaryIndexes"]
    code = (ROOT / "shared" / "src" / "drill_record.rs").read_text()
    assert f'SUCCESSFUL_INDEX: &str = "{index["IndexName"]}"' in code
    writers = {}
    for name, resource in stack["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                if "DrillRecordTable" in str(statement.get("Resource")):
                    writers.setdefault(name, set()).update(as_list(statement["Action"]))
    assert writers.pop("RestoreDrillFunction") == {"dynamodb:PutItem"}
    env = stack["Resources"]["RestoreDrillFunction"]["Properties"]["Environment"]["Variables"]
    assert env["DRILL_TABLE_NAME"] == {"Ref": "DrillRecordTable"}
    assert writers == {"ComplianceReportFunction": {"dynamodb:Query"}}, writers
    report = stack["Resources"]["ComplianceReportFunction"]["Properties"]
    (read,) = [s for p in report["Policies"] for s in p["Statement"] if "DrillRecordTable" in str(s.get("Resource"))]
    assert read["Resource"] == {"Fn::Sub": "${DrillRecordTable.Arn}/index/" + index["IndexName"]}, "the index only"
    env = report["Environment"]["Variables"]
    assert env["DRILL_TABLE_NAME"] == {"Ref": "DrillRecordTable"}
    # Stale drills are judged by the schedule the restore testing plan runs on, and the grace
    # (policy restore_tests.grace_hours, 24 by default) is that plan's start window.
    assert env["RESTORE_TEST_SCHEDULE"] == {"Ref": "RestoreTestSchedule"}
    assert stack["Resources"]["RestoreTestingPlan"]["Properties"]["ScheduleExpression"] == {"Ref": "RestoreTestSchedule"}
    assert stack["Resources"]["RestoreTestingPlan"]["Properties"]["StartWindowHours"] == 24
    policy = (ROOT / "shared" / "src" / "policy" / "mod.rs").read_text()
    assert "fn default_drill_grace_hours() -> i64 {\n    24\n}" in policy


# "Restore testing": a plan and its selections exist only where vaults to test are named; the
# selections use the backup tag (EnrollmentTagKeys' first key) and a window restore-drill can use.
def test_restore_testing_plan_exists_only_with_vaults_to_test_and_selects_by_the_backup_tag(stack):
    testing = {k: v for k, v in stack["Resources"].items() if v["Type"].startswith("AWS::Backup::RestoreTesting")}
    testing["RestoreTestingRole"] = stack["Resources"]["RestoreTestingRole"]
    assert len(testing) == 9, sorted(testing)
    for name, resource in testing.items():
        expected = "HasEc2RestoreTests" if name == "RestoreTestingSelectionEC2" else "HasRestoreTests"
        assert resource.get("Condition") == expected, name
    assert not condition_holds(stack, "HasRestoreTests")
    vault = "arn:aws:backup:eu-west-1:111122223333:backup-vault:isolated"
    assert condition_holds(stack, "HasRestoreTests", {"RestoreTestVaultArns": vault})
    plan = stack["Resources"]["RestoreTestingPlan"]["Properties"]
    assert plan["RecoveryPointSelection"]["Algorithm"] == "LATEST_WITHIN_WINDOW"
    assert plan["RecoveryPointSelection"]["IncludeVaults"] == {"Ref": "RestoreTestVaultArns"}
    assert "?" in stack["Parameters"]["RestoreTestSchedule"]["Default"], "weekly by default"
    types = set()
    for resource in testing.values():
        if resource["Type"] != "AWS::Backup::RestoreTestingSelection":
            continue
        selection = resource["Properties"]
        types.add(selection["ProtectedResourceType"])
        (condition,) = selection["ProtectedResourceConditions"]["StringEquals"]
        assert condition["Key"] == {"Fn::Select": [0, {"Ref": "EnrollmentTagKeys"}]}
        assert selection["ValidationWindowHours"] == {"Ref": "RestoreTestValidationHours"}
    assert types == {"DynamoDB", "EBS", "RDS", "Aurora", "EC2", "EFS", "S3"}, "the types restore-drill validates"
    role = stack["Resources"]["RestoreTestingRole"]["Properties"]
    assert all("ForRestores" in str(p) for p in role["ManagedPolicyArns"]), "restores only"


# "Restore testing inferred metadata": restored resources stay small and private. EC2 instances
# start only in the operator's subnet, as a small IMDSv2-only instance type; databases are small
# and not public; Aurora clusters (restored without instances) and databases go into the
# operator's subnet group; S3 and EFS restore into new buckets and file systems, as AWS infers.
def test_restore_testing_selections_override_the_restore_metadata_to_stay_small_and_private(stack):
    resources = stack["Resources"]
    ec2 = resources["RestoreTestingSelectionEC2"]["Properties"]["RestoreMetadataOverrides"]
    assert ec2["subnetId"] == {"Ref": "RestoreTestSubnetId"}
    assert ec2["instanceType"] == {"Ref": "RestoreTestInstanceType"}
    assert ec2["requireImdsV2"] == "true"
    assert stack["Parameters"]["RestoreTestInstanceType"]["Default"] in ("t3.micro", "t4g.micro")
    vault = {"RestoreTestVaultArns": "arn:aws:backup:eu-west-1:111122223333:backup-vault:isolated"}
    assert not condition_holds(stack, "HasEc2RestoreTests", vault), "no EC2 restore test without a subnet"
    assert condition_holds(stack, "HasEc2RestoreTests", {**vault, "RestoreTestSubnetId": "subnet-0abc"})
    rds = resources["RestoreTestingSelectionRDS"]["Properties"]["RestoreMetadataOverrides"]
    assert rds["publiclyAccessible"] == "false" and rds["dbInstanceClass"].startswith("db.t")
    aurora = resources["RestoreTestingSelectionAurora"]["Properties"]["RestoreMetadataOverrides"]
    assert set(aurora) == {"dbSubnetGroupName", "vpcSecurityGroupIds"}
    assert "RestoreTestDBSubnetGroup" in str(aurora["dbSubnetGroupName"])
    for name in ("RestoreTestingSelectionS3", "RestoreTestingSelectionEFS"):
        assert "RestoreMetadataOverrides" not in resources[name]["Properties"], name


# "Status checks for Amazon EC2 instances": a new instance's checks read initializing for its
# first minutes, and restore-drill waits for them until its last minute (handler::Settle).
def test_restore_drill_has_minutes_to_wait_for_a_restored_resource_to_settle(stack):
    drill = resources(stack, "AWS::Serverless::Function")["RestoreDrillFunction"]
    assert function_setting(stack, drill, "Timeout", 3) - 60 >= 5 * 60
