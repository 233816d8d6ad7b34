//! IAM: roles, users and groups with what is attached to them and written inline into
//! them, policies, instance profiles, identity providers, access keys and the account's
//! password policy.
//!
//! Attachments and inline policies are compared on their principal. The provider keeps
//! them as resources of their own (`aws_iam_role_policy_attachment`, `aws_iam_user_policy`)
//! and, for roles, also in the role's own `managed_policy_arns` / `inline_policy` (the
//! exclusive forms, computed after a refresh). A principal's live attachments and inline
//! policies, less the ones its parts declare, must equal what the principal itself
//! declares: anything more was added outside Terraform (`AdministratorAccess` attached to a
//! managed role), one finding on the principal that a detach or delete undoes. Users and
//! groups have no such attribute in Terraform: for them the declared value is always
//! empty, so every attachment no part declares is drift.

use serde_json::Value;

use super::{Attribute, Entry, Fix, Listing, Shape, expected_flag, expected_text, tag};
use crate::catalogue::{Element, PartOf, Through};
use crate::drift::normalize::{boolean, number, policy_document, policy_map, string_set, strings, text, zero_as_null};
use crate::drift::types::Normalized;
use crate::model::{JanitorTarget, Provider};
use crate::remediation::RemediationCall;
use crate::remediation::aws::{AwsCall, PasswordChange, Principal};

use super::super::JanitorRole;

/// What every entry of this file shares.
const IAM: Entry = Entry { service: "iam", ..Entry::blank(Provider::Aws, &["name", "id"]) };

/// A principal's attachments: `managed_policy_arns` (roles: the provider's own attribute;
/// users and groups: DriftGuard's, declared by the parts only). Only a role's policy
/// attached outside Terraform is detached. Never restored from the role's own copy: the
/// provider refreshes that copy only on the next plan, so after an attachment resource was
/// destroyed it still lists the policy, and restoring it would grant back what was just
/// removed. Users' and groups' attachments are reported, not detached: the legacy
/// `aws_iam_policy_attachment` (not in the catalogue) may manage them.
fn attachment_fix(f: &Fix<'_>, principal: Principal) -> Option<RemediationCall> {
    let (None, Some(Value::String(policy_arn))) = (f.expected, f.actual) else { return None };
    if principal != Principal::Role {
        return None;
    }
    let call =
        AwsCall::PolicyAttachment { principal, name: f.id.to_owned(), policy_arn: policy_arn.clone(), attach: false };
    Some(call.into())
}

/// A principal's inline policy `f.key`: the declared document written back over a
/// changed one, or, when none is declared, the policy deleted. One missing live is not
/// put back from the principal's own copy (stale after a destroy, as attachments are).
fn inline_fix(f: &Fix<'_>, principal: Principal, name: &str, policy_name: &str) -> Option<RemediationCall> {
    let document = match (f.expected, f.actual) {
        (Some(document), Some(_)) if document.is_object() => Some(document.clone()),
        (None, Some(_)) => None,
        _ => return None,
    };
    Some(
        AwsCall::InlinePolicy { principal, name: name.to_owned(), policy_name: policy_name.to_owned(), document }
            .into(),
    )
}

/// The principal's inline policy named by the finding's map key.
fn principal_inline_fix(f: &Fix<'_>, principal: Principal) -> Option<RemediationCall> {
    inline_fix(f, principal, f.id, f.key?)
}

/// An inline policy resource (`ROLE:NAME`) whose document drifted.
fn part_inline_fix(f: &Fix<'_>, principal: Principal) -> Option<RemediationCall> {
    let (name, policy_name) = f.id.split_once(':')?;
    inline_fix(f, principal, name, policy_name)
}

/// Terraform's `inline_policy` blocks of a role (`[{name, policy}]`; a role with none
/// is recorded with one empty block by some provider versions).
fn declared_inline(a: &Value) -> Value {
    let blocks = a.get("inline_policy").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    policy_map(blocks.iter().filter_map(|block| {
        Some((block.get("name")?.as_str()?, block.get("policy").and_then(Value::as_str).unwrap_or_default()))
    }))
}

fn no_declared_value(_: &Value) -> Value {
    Value::Null
}

const fn managed_policy_arns(declared: fn(&Value) -> Value, fix: fn(&Fix<'_>) -> Option<RemediationCall>) -> Attribute {
    Attribute { shape: Shape::Set, path: "managed_policy_arns", declared, fix: Some(fix) }
}

const fn inline_policy(declared: fn(&Value) -> Value, fix: fn(&Fix<'_>) -> Option<RemediationCall>) -> Attribute {
    Attribute { shape: Shape::Map, path: "inline_policy", declared, fix: Some(fix) }
}

const ROLE: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "assume_role_policy",
        declared: |a| a.get("assume_role_policy").and_then(Value::as_str).map_or(Value::Null, policy_document),
        fix: Some(|f| {
            let document = f.expected.filter(|document| document.is_object())?.clone();
            Some(AwsCall::RoleTrustPolicy { role_name: f.id.to_owned(), document }.into())
        }),
    },
    Attribute {
        shape: Shape::Value,
        path: "max_session_duration",
        declared: |a| number(a, &["max_session_duration"]),
        fix: Some(|f| {
            let seconds = i32::try_from(f.expected.and_then(Value::as_i64)?).ok()?;
            Some(AwsCall::RoleMaxSessionDuration { role_name: f.id.to_owned(), seconds }.into())
        }),
    },
    managed_policy_arns(|a| string_set(strings(a.get("managed_policy_arns"))), |f| attachment_fix(f, Principal::Role)),
    inline_policy(declared_inline, |f| principal_inline_fix(f, Principal::Role)),
];

const USER: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "path", declared: |a| text(a, &["path"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "permissions_boundary",
        declared: |a| text(a, &["permissions_boundary"]),
        fix: None,
    },
    managed_policy_arns(no_declared_value, |f| attachment_fix(f, Principal::User)),
    inline_policy(no_declared_value, |f| principal_inline_fix(f, Principal::User)),
    // Memberships are declared by the membership resources (parts) only.
    Attribute {
        shape: Shape::Set,
        path: "groups",
        declared: no_declared_value,
        fix: Some(|f| {
            let (group, add) = match (f.expected, f.actual) {
                (None, Some(Value::String(group))) => (group, false),
                (Some(Value::String(group)), None) => (group, true),
                _ => return None,
            };
            Some(AwsCall::GroupMembership { user_name: f.id.to_owned(), group_name: group.clone(), add }.into())
        }),
    },
];

const GROUP: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "path", declared: |a| text(a, &["path"]), fix: None },
    managed_policy_arns(no_declared_value, |f| attachment_fix(f, Principal::Group)),
    inline_policy(no_declared_value, |f| principal_inline_fix(f, Principal::Group)),
];

const POLICY: &[Attribute] = &[Attribute {
    shape: Shape::Value,
    path: "policy",
    declared: |a| a.get("policy").and_then(Value::as_str).map_or(Value::Null, policy_document),
    fix: Some(|f| {
        let document = f.expected.filter(|document| document.is_object())?.clone();
        Some(AwsCall::PolicyDocument { policy_arn: f.id.to_owned(), document }.into())
    }),
}];

/// An inline policy resource's document (`ROLE:NAME` is its id).
const fn inline_document(fix: fn(&Fix<'_>) -> Option<RemediationCall>) -> Attribute {
    Attribute {
        shape: Shape::Value,
        path: "policy",
        declared: |a| a.get("policy").and_then(Value::as_str).map_or(Value::Null, policy_document),
        fix: Some(fix),
    }
}

const ROLE_POLICY: &[Attribute] = &[inline_document(|f| part_inline_fix(f, Principal::Role))];
const USER_POLICY: &[Attribute] = &[inline_document(|f| part_inline_fix(f, Principal::User))];
const GROUP_POLICY: &[Attribute] = &[inline_document(|f| part_inline_fix(f, Principal::Group))];

/// `PRINCIPAL/POLICY_ARN`, the provider's import id of an attachment (principal names
/// hold no `/`).
fn attachment_id(a: &Value, principal: &str) -> Option<String> {
    let name = a.get(principal)?.as_str()?;
    let arn = a.get("policy_arn")?.as_str()?;
    Some(format!("{name}/{arn}"))
}

fn attachment_element(part: &Normalized) -> Vec<Element> {
    part.id
        .split_once('/')
        .map(|(parent, arn)| Element {
            parent: parent.to_owned(),
            attribute: "managed_policy_arns",
            key: arn.to_owned(),
        })
        .into_iter()
        .collect()
}

fn inline_element(part: &Normalized) -> Vec<Element> {
    part.id
        .split_once(':')
        .map(|(parent, name)| Element { parent: parent.to_owned(), attribute: "inline_policy", key: name.to_owned() })
        .into_iter()
        .collect()
}

const fn attachment(parent: &'static str) -> PartOf {
    PartOf { parent, elements: attachment_element, through_parent: Some(Through::Presence) }
}

const fn inline(parent: &'static str) -> PartOf {
    PartOf { parent, elements: inline_element, through_parent: Some(Through::Value("policy")) }
}

const MEMBERSHIP: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "group", declared: |a| text(a, &["group"]), fix: None },
    Attribute { shape: Shape::Set, path: "users", declared: |a| string_set(strings(a.get("users"))), fix: None },
];

/// `aws_iam_group_membership` (exclusive, one group, several users): each user's `groups`.
fn group_membership_elements(part: &Normalized) -> Vec<Element> {
    let Some(group) = part.attributes.get("group").and_then(Value::as_str) else { return Vec::new() };
    strings(part.attributes.get("users"))
        .into_iter()
        .map(|user| Element { parent: user, attribute: "groups", key: group.to_owned() })
        .collect()
}

/// `aws_iam_user_group_membership` (one user, several groups): `USER/GROUP1/GROUP2`, the
/// provider's import id.
fn user_group_membership_elements(part: &Normalized) -> Vec<Element> {
    let mut names = part.id.split('/');
    let Some(user) = names.next() else { return Vec::new() };
    names.map(|group| Element { parent: user.to_owned(), attribute: "groups", key: group.to_owned() }).collect()
}

/// A setting of the password policy: the declared value, in the API's form.
fn password_number(f: &Fix<'_>, change: fn(i32) -> PasswordChange) -> Option<RemediationCall> {
    // Null is the provider's 0: "not set".
    let value = f.expected.map_or(Some(0), Value::as_i64)?;
    Some(AwsCall::PasswordPolicy { change: change(i32::try_from(value).ok()?) }.into())
}

fn password_flag(f: &Fix<'_>, change: fn(bool) -> PasswordChange) -> Option<RemediationCall> {
    Some(AwsCall::PasswordPolicy { change: change(expected_flag(f)?) }.into())
}

const PASSWORD_POLICY: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "minimum_password_length",
        declared: |a| number(a, &["minimum_password_length"]),
        fix: Some(|f| password_number(f, PasswordChange::MinimumPasswordLength)),
    },
    Attribute {
        shape: Shape::Value,
        path: "max_password_age",
        declared: |a| zero_as_null(number(a, &["max_password_age"])),
        fix: Some(|f| password_number(f, PasswordChange::MaxPasswordAge)),
    },
    Attribute {
        shape: Shape::Value,
        path: "password_reuse_prevention",
        declared: |a| zero_as_null(number(a, &["password_reuse_prevention"])),
        fix: Some(|f| password_number(f, PasswordChange::PasswordReusePrevention)),
    },
    Attribute {
        shape: Shape::Value,
        path: "require_symbols",
        declared: |a| boolean(a.get("require_symbols")),
        fix: Some(|f| password_flag(f, PasswordChange::RequireSymbols)),
    },
    Attribute {
        shape: Shape::Value,
        path: "require_numbers",
        declared: |a| boolean(a.get("require_numbers")),
        fix: Some(|f| password_flag(f, PasswordChange::RequireNumbers)),
    },
    Attribute {
        shape: Shape::Value,
        path: "require_uppercase_characters",
        declared: |a| boolean(a.get("require_uppercase_characters")),
        fix: Some(|f| password_flag(f, PasswordChange::RequireUppercaseCharacters)),
    },
    Attribute {
        shape: Shape::Value,
        path: "require_lowercase_characters",
        declared: |a| boolean(a.get("require_lowercase_characters")),
        fix: Some(|f| password_flag(f, PasswordChange::RequireLowercaseCharacters)),
    },
    Attribute {
        shape: Shape::Value,
        path: "allow_users_to_change_password",
        // The provider's default is true.
        declared: |a| Value::Bool(a.get("allow_users_to_change_password").and_then(Value::as_bool).unwrap_or(true)),
        fix: Some(|f| password_flag(f, PasswordChange::AllowUsersToChangePassword)),
    },
    Attribute {
        shape: Shape::Value,
        path: "hard_expiry",
        declared: |a| boolean(a.get("hard_expiry")),
        fix: Some(|f| password_flag(f, PasswordChange::HardExpiry)),
    },
];

const ACCESS_KEY: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "user", declared: |a| text(a, &["user"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "status",
        // The provider's default.
        declared: |a| {
            let status = text(a, &["status"]);
            if status.is_null() { Value::from("Active") } else { status }
        },
        fix: Some(|f| {
            Some(AwsCall::AccessKeyStatus { access_key_id: f.id.to_owned(), status: expected_text(f)? }.into())
        }),
    },
];

const INSTANCE_PROFILE: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "role", declared: |a| text(a, &["role"]), fix: None },
    Attribute { shape: Shape::Value, path: "path", declared: |a| text(a, &["path"]), fix: None },
];

/// The provider and the API both give the URL without its scheme; a state written from
/// configuration may keep it.
pub fn oidc_url(url: &str) -> Value {
    Value::from(url.trim_start_matches("https://").to_owned())
}

const OIDC_PROVIDER: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "url",
        declared: |a| a.get("url").and_then(Value::as_str).map_or(Value::Null, oidc_url),
        fix: None,
    },
    Attribute {
        shape: Shape::Set,
        path: "client_id_list",
        declared: |a| string_set(strings(a.get("client_id_list"))),
        fix: Some(|f| {
            let (client_id, add) = match (f.expected, f.actual) {
                (None, Some(Value::String(id))) => (id, false),
                (Some(Value::String(id)), None) => (id, true),
                _ => return None,
            };
            Some(AwsCall::OidcClientId { provider_arn: f.id.to_owned(), client_id: client_id.clone(), add }.into())
        }),
    },
    Attribute {
        shape: Shape::Set,
        path: "thumbprint_list",
        declared: |a| string_set(strings(a.get("thumbprint_list")).into_iter().map(|t| t.to_ascii_lowercase())),
        fix: None,
    },
];

const SAML_PROVIDER: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "name", declared: |a| text(a, &["name"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "saml_metadata_document",
        declared: |a| saml_metadata(a.get("saml_metadata_document").and_then(Value::as_str).unwrap_or_default()),
        fix: None,
    },
];

/// A metadata document compared without the whitespace around it.
pub fn saml_metadata(text: &str) -> Value {
    crate::drift::normalize::scalar(Value::from(text.trim().to_owned()))
}

/// Every IAM type.
pub(super) static ENTRIES: &[Entry] = &[
    Entry {
        resource_type: "aws_iam_role",
        listing: Some(Listing::IamRoles),
        details: &[
            "iam:GetRole (tags, session duration)",
            "iam:ListAttachedRolePolicies, iam:ListRolePolicies, iam:GetRolePolicy (declared roles)",
        ],
        attributes: ROLE,
        tags: Some(|id, key, value| AwsCall::RoleTag { role_name: id.to_owned(), tag: tag(key, value) }.into()),
        unmanaged: true,
        // Last: instances use roles through instance profiles.
        janitor: Some(JanitorRole { target: JanitorTarget::AwsIamRole, order: 4 }),
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_role_policy_attachment",
        composite_id: Some(|a| attachment_id(a, "role")),
        listing: Some(Listing::IamRoles),
        part_of: Some(attachment("aws_iam_role")),
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_role_policy",
        identity: &["id"],
        listing: Some(Listing::IamRoles),
        attributes: ROLE_POLICY,
        part_of: Some(inline("aws_iam_role")),
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_policy",
        identity: &["arn", "id"],
        listing: Some(Listing::IamPolicies),
        details: &["iam:GetPolicyVersion (the default document)"],
        attributes: POLICY,
        unmanaged: true,
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_user",
        listing: Some(Listing::IamUsers),
        details: &[
            "iam:GetUser (tags, permissions boundary)",
            "iam:ListAttachedUserPolicies, iam:ListUserPolicies, iam:GetUserPolicy, iam:ListGroupsForUser (declared users)",
        ],
        attributes: USER,
        tags: Some(|id, key, value| AwsCall::UserTag { user_name: id.to_owned(), tag: tag(key, value) }.into()),
        unmanaged: true,
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_user_policy_attachment",
        composite_id: Some(|a| attachment_id(a, "user")),
        listing: Some(Listing::IamUsers),
        part_of: Some(attachment("aws_iam_user")),
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_user_policy",
        identity: &["id"],
        listing: Some(Listing::IamUsers),
        attributes: USER_POLICY,
        part_of: Some(inline("aws_iam_user")),
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_user_group_membership",
        composite_id: Some(|a| {
            let user = a.get("user")?.as_str()?;
            let groups = strings(a.get("groups"));
            Some(std::iter::once(user.to_owned()).chain(groups).collect::<Vec<_>>().join("/"))
        }),
        listing: Some(Listing::IamUsers),
        part_of: Some(PartOf {
            parent: "aws_iam_user",
            elements: user_group_membership_elements,
            through_parent: Some(Through::Presence),
        }),
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_group_membership",
        listing: Some(Listing::IamUsers),
        attributes: MEMBERSHIP,
        part_of: Some(PartOf {
            parent: "aws_iam_user",
            elements: group_membership_elements,
            through_parent: Some(Through::Presence),
        }),
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_access_key",
        identity: &["id"],
        listing: Some(Listing::IamUsers),
        details: &["iam:ListAccessKeys (per user, when access keys are compared)"],
        attributes: ACCESS_KEY,
        unmanaged: true,
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_group",
        listing: Some(Listing::IamGroups),
        details: &["iam:ListAttachedGroupPolicies, iam:ListGroupPolicies, iam:GetGroupPolicy (declared groups)"],
        attributes: GROUP,
        unmanaged: true,
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_group_policy_attachment",
        composite_id: Some(|a| attachment_id(a, "group")),
        listing: Some(Listing::IamGroups),
        part_of: Some(attachment("aws_iam_group")),
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_group_policy",
        identity: &["id"],
        listing: Some(Listing::IamGroups),
        attributes: GROUP_POLICY,
        part_of: Some(inline("aws_iam_group")),
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_instance_profile",
        listing: Some(Listing::IamInstanceProfiles),
        attributes: INSTANCE_PROFILE,
        unmanaged: true,
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_openid_connect_provider",
        identity: &["arn", "id"],
        listing: Some(Listing::IamOidcProviders),
        details: &["iam:GetOpenIDConnectProvider"],
        attributes: OIDC_PROVIDER,
        unmanaged: true,
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_saml_provider",
        identity: &["arn", "id"],
        listing: Some(Listing::IamSamlProviders),
        details: &["iam:GetSAMLProvider"],
        attributes: SAML_PROVIDER,
        unmanaged: true,
        ..IAM
    },
    Entry {
        resource_type: "aws_iam_account_password_policy",
        identity: &["id"],
        listing: Some(Listing::IamPasswordPolicy),
        attributes: PASSWORD_POLICY,
        unmanaged: true,
        ..IAM
    },
];
