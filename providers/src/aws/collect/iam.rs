//! IAM in the normal form: roles, users and groups with their attachments, inline
//! policies and memberships (read only for the principals the states declare), customer
//! managed policies, instance profiles, identity providers, access keys and the account's
//! password policy. IAM is account-wide: collected once per account.

use std::collections::BTreeMap;

use driftguard_engine::drift::normalize::{insert_map, insert_tags, policy_document, policy_map, scalar, string_set};
use driftguard_engine::drift::{Attributes, Normalized, Wanted};
use driftguard_engine::remediation::aws::PASSWORD_POLICY_ID;
use serde_json::Value;

use super::{next_page, normalized, text};
use crate::aws::AwsClient;
use crate::retry::CallError;

/// The path of the service-linked roles AWS creates and owns: never a finding unless a
/// state declares one.
const SERVICE_LINKED: &str = "/aws-service-role/";

/// The next marker of a truncated IAM page.
fn next(truncated: bool, marker: Option<&str>) -> Option<String> {
    if truncated { next_page(marker) } else { None }
}

fn iam_tags(tags: &[aws_sdk_iam::types::Tag]) -> impl Iterator<Item = (String, String)> + '_ {
    tags.iter().map(|t| (t.key().to_owned(), t.value().to_owned()))
}

impl AwsClient {
    /// Every role (service-linked ones only when declared). `ListRoles` gives the trust
    /// policy and session duration; tags, attachments and inline policies of every role
    /// come from `GetAccountAuthorizationDetails` (a thousand roles a page) instead of
    /// `GetRole`, `ListAttachedRolePolicies`, `ListRolePolicies` and `GetRolePolicy` per
    /// role. A role created between the two reads is read on its own.
    pub(super) async fn roles(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut listed = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page =
                send!(self, "iam:ListRoles", self.iam().list_roles().set_marker(marker.clone()).max_items(1000))?;
            listed.extend(
                page.roles()
                    .iter()
                    .filter(|role| {
                        !role.path().starts_with(SERVICE_LINKED) || wanted.details("aws_iam_role", role.role_name())
                    })
                    .cloned(),
            );
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                break;
            }
        }
        let details = if listed.is_empty() { BTreeMap::new() } else { self.role_details().await? };
        let mut out = Vec::with_capacity(listed.len());
        for role in &listed {
            let name = role.role_name();
            let detailed = wanted.details("aws_iam_role", name);
            let mut a = Attributes::new();
            a.insert(
                "assume_role_policy".into(),
                role.assume_role_policy_document().map_or(Value::Null, policy_document),
            );
            a.insert("max_session_duration".into(), Value::from(role.max_session_duration().or(Some(3600))));
            if let Some(detail) = details.get(name) {
                insert_tags(&mut a, iam_tags(detail.tags()));
                if detailed {
                    let arns = detail.attached_managed_policies().iter().filter_map(|p| p.policy_arn());
                    a.insert("managed_policy_arns".into(), string_set(arns.map(str::to_owned)));
                    let inline = detail
                        .role_policy_list()
                        .iter()
                        .filter_map(|p| Some((p.policy_name()?, p.policy_document().unwrap_or_default())));
                    insert_map(&mut a, "inline_policy", policy_map(inline));
                }
            } else {
                let full = match send!(self, "iam:GetRole", self.iam().get_role().role_name(name)) {
                    Ok(full) => full,
                    // Deleted between the two reads.
                    Err(error) if error.is_not_found() => continue,
                    Err(error) => return Err(error),
                };
                insert_tags(&mut a, iam_tags(full.role().map(aws_sdk_iam::types::Role::tags).unwrap_or_default()));
                if detailed {
                    a.insert("managed_policy_arns".into(), string_set(self.role_attachments(name).await?));
                    insert_map(&mut a, "inline_policy", self.role_inline(name).await?);
                }
            }
            out.push(normalized("aws_iam_role", name, a));
        }
        Ok(out)
    }

    /// Every role's authorization details, by name.
    async fn role_details(&self) -> Result<BTreeMap<String, aws_sdk_iam::types::RoleDetail>, CallError> {
        let mut out = BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:GetAccountAuthorizationDetails",
                self.iam()
                    .get_account_authorization_details()
                    .filter(aws_sdk_iam::types::EntityType::Role)
                    .max_items(1000)
                    .set_marker(marker.clone())
            )?;
            for detail in page.role_detail_list() {
                if let Some(name) = detail.role_name() {
                    out.insert(name.to_owned(), detail.clone());
                }
            }
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn role_attachments(&self, name: &str) -> Result<Vec<String>, CallError> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListAttachedRolePolicies",
                self.iam().list_attached_role_policies().role_name(name).set_marker(marker.clone())
            )?;
            arns.extend(page.attached_policies().iter().filter_map(|p| p.policy_arn()).map(str::to_owned));
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(arns);
            }
        }
    }

    async fn role_inline(&self, name: &str) -> Result<Value, CallError> {
        let mut documents = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListRolePolicies",
                self.iam().list_role_policies().role_name(name).set_marker(marker.clone())
            )?;
            for policy in page.policy_names() {
                let read =
                    send!(self, "iam:GetRolePolicy", self.iam().get_role_policy().role_name(name).policy_name(policy))?;
                documents.push((policy.clone(), read.policy_document().to_owned()));
            }
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(policy_map(documents.iter().map(|(n, d)| (n.as_str(), d.as_str()))));
            }
        }
    }

    pub(super) async fn policies(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListPolicies",
                self.iam().list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).set_marker(marker.clone())
            )?;
            for policy in page.policies() {
                let Some(arn) = policy.arn() else { continue };
                let mut a = Attributes::new();
                if let Some(version) = policy.default_version_id().filter(|_| wanted.details("aws_iam_policy", arn)) {
                    let document = send!(
                        self,
                        "iam:GetPolicyVersion",
                        self.iam().get_policy_version().policy_arn(arn).version_id(version)
                    )?;
                    let text = document.policy_version().and_then(|v| v.document());
                    a.insert("policy".into(), text.map_or(Value::Null, policy_document));
                }
                out.push(normalized("aws_iam_policy", arn, a));
            }
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn users(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let keys = wanted.has_type("aws_iam_access_key");
        let mut marker: Option<String> = None;
        loop {
            let page = send!(self, "iam:ListUsers", self.iam().list_users().set_marker(marker.clone()))?;
            for user in page.users() {
                let name = user.user_name();
                // ListUsers leaves out tags and the permissions boundary.
                let full = send!(self, "iam:GetUser", self.iam().get_user().user_name(name))?;
                let user = full.user().unwrap_or(user);
                let mut a = Attributes::new();
                a.insert("path".into(), scalar(Value::from(user.path())));
                let boundary = user.permissions_boundary().and_then(|b| b.permissions_boundary_arn());
                a.insert("permissions_boundary".into(), text(boundary));
                insert_tags(&mut a, iam_tags(user.tags()));
                if wanted.details("aws_iam_user", name) {
                    a.insert("managed_policy_arns".into(), string_set(self.user_attachments(name).await?));
                    insert_map(&mut a, "inline_policy", self.user_inline(name).await?);
                    a.insert("groups".into(), string_set(self.user_groups(name).await?));
                }
                out.push(normalized("aws_iam_user", name, a));
                if keys {
                    out.extend(self.access_keys(name).await?);
                }
            }
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn user_attachments(&self, name: &str) -> Result<Vec<String>, CallError> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListAttachedUserPolicies",
                self.iam().list_attached_user_policies().user_name(name).set_marker(marker.clone())
            )?;
            arns.extend(page.attached_policies().iter().filter_map(|p| p.policy_arn()).map(str::to_owned));
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(arns);
            }
        }
    }

    async fn user_inline(&self, name: &str) -> Result<Value, CallError> {
        let mut documents = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListUserPolicies",
                self.iam().list_user_policies().user_name(name).set_marker(marker.clone())
            )?;
            for policy in page.policy_names() {
                let read =
                    send!(self, "iam:GetUserPolicy", self.iam().get_user_policy().user_name(name).policy_name(policy))?;
                documents.push((policy.clone(), read.policy_document().to_owned()));
            }
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(policy_map(documents.iter().map(|(n, d)| (n.as_str(), d.as_str()))));
            }
        }
    }

    async fn user_groups(&self, name: &str) -> Result<Vec<String>, CallError> {
        let mut groups = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListGroupsForUser",
                self.iam().list_groups_for_user().user_name(name).set_marker(marker.clone())
            )?;
            groups.extend(page.groups().iter().map(|g| g.group_name().to_owned()));
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(groups);
            }
        }
    }

    /// A user's access keys: their ids and status (never a secret: the API has none to give).
    async fn access_keys(&self, user: &str) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListAccessKeys",
                self.iam().list_access_keys().user_name(user).set_marker(marker.clone())
            )?;
            for key in page.access_key_metadata() {
                let Some(id) = key.access_key_id() else { continue };
                let mut a = Attributes::new();
                a.insert("user".into(), Value::from(user));
                a.insert("status".into(), text(key.status().map(aws_sdk_iam::types::StatusType::as_str)));
                out.push(normalized("aws_iam_access_key", id, a));
            }
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn groups(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(self, "iam:ListGroups", self.iam().list_groups().set_marker(marker.clone()))?;
            for group in page.groups() {
                let name = group.group_name();
                let mut a = Attributes::new();
                a.insert("path".into(), scalar(Value::from(group.path())));
                if wanted.details("aws_iam_group", name) {
                    a.insert("managed_policy_arns".into(), string_set(self.group_attachments(name).await?));
                    insert_map(&mut a, "inline_policy", self.group_inline(name).await?);
                }
                out.push(normalized("aws_iam_group", name, a));
            }
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn group_attachments(&self, name: &str) -> Result<Vec<String>, CallError> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListAttachedGroupPolicies",
                self.iam().list_attached_group_policies().group_name(name).set_marker(marker.clone())
            )?;
            arns.extend(page.attached_policies().iter().filter_map(|p| p.policy_arn()).map(str::to_owned));
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(arns);
            }
        }
    }

    async fn group_inline(&self, name: &str) -> Result<Value, CallError> {
        let mut documents = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListGroupPolicies",
                self.iam().list_group_policies().group_name(name).set_marker(marker.clone())
            )?;
            for policy in page.policy_names() {
                let read = send!(
                    self,
                    "iam:GetGroupPolicy",
                    self.iam().get_group_policy().group_name(name).policy_name(policy)
                )?;
                documents.push((policy.clone(), read.policy_document().to_owned()));
            }
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(policy_map(documents.iter().map(|(n, d)| (n.as_str(), d.as_str()))));
            }
        }
    }

    pub(super) async fn instance_profiles(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListInstanceProfiles",
                self.iam().list_instance_profiles().set_marker(marker.clone())
            )?;
            for profile in page.instance_profiles() {
                let mut a = Attributes::new();
                let role = profile.roles().first().map(|role| role.role_name().to_owned());
                a.insert("role".into(), scalar(Value::from(role)));
                a.insert("path".into(), scalar(Value::from(profile.path())));
                out.push(normalized("aws_iam_instance_profile", profile.instance_profile_name(), a));
            }
            marker = next(page.is_truncated(), page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn oidc_providers(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let listed = send!(self, "iam:ListOpenIDConnectProviders", self.iam().list_open_id_connect_providers())?;
        let mut out = Vec::new();
        for provider in listed.open_id_connect_provider_list() {
            let Some(arn) = provider.arn() else { continue };
            let mut a = Attributes::new();
            if wanted.details("aws_iam_openid_connect_provider", arn) {
                let read = send!(
                    self,
                    "iam:GetOpenIDConnectProvider",
                    self.iam().get_open_id_connect_provider().open_id_connect_provider_arn(arn)
                )?;
                let url = read.url().map_or(Value::Null, driftguard_engine::catalogue::aws::oidc_url);
                a.insert("url".into(), url);
                a.insert("client_id_list".into(), string_set(read.client_id_list().iter().cloned()));
                a.insert(
                    "thumbprint_list".into(),
                    string_set(read.thumbprint_list().iter().map(|t| t.to_ascii_lowercase())),
                );
            }
            out.push(normalized("aws_iam_openid_connect_provider", arn, a));
        }
        Ok(out)
    }

    pub(super) async fn saml_providers(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let listed = send!(self, "iam:ListSAMLProviders", self.iam().list_saml_providers())?;
        let mut out = Vec::new();
        for provider in listed.saml_provider_list() {
            let Some(arn) = provider.arn() else { continue };
            let mut a = Attributes::new();
            a.insert("name".into(), text(arn.rsplit('/').next()));
            if wanted.details("aws_iam_saml_provider", arn) {
                let read = send!(self, "iam:GetSAMLProvider", self.iam().get_saml_provider().saml_provider_arn(arn))?;
                let document = read.saml_metadata_document().unwrap_or_default();
                a.insert("saml_metadata_document".into(), driftguard_engine::catalogue::aws::saml_metadata(document));
            }
            out.push(normalized("aws_iam_saml_provider", arn, a));
        }
        Ok(out)
    }

    pub(super) async fn password_policy(&self) -> Result<Vec<Normalized>, CallError> {
        let policy = match send!(self, "iam:GetAccountPasswordPolicy", self.iam().get_account_password_policy()) {
            Ok(answer) => answer.password_policy().cloned(),
            // None set: the account has no such resource.
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(error),
        };
        let Some(p) = policy else { return Ok(Vec::new()) };
        let positive = |n: Option<i32>| n.filter(|n| *n > 0).map_or(Value::Null, Value::from);
        let mut a = Attributes::new();
        a.insert("minimum_password_length".into(), Value::from(p.minimum_password_length().unwrap_or(6)));
        a.insert("max_password_age".into(), positive(p.max_password_age()));
        a.insert("password_reuse_prevention".into(), positive(p.password_reuse_prevention()));
        a.insert("require_symbols".into(), Value::Bool(p.require_symbols()));
        a.insert("require_numbers".into(), Value::Bool(p.require_numbers()));
        a.insert("require_uppercase_characters".into(), Value::Bool(p.require_uppercase_characters()));
        a.insert("require_lowercase_characters".into(), Value::Bool(p.require_lowercase_characters()));
        a.insert("allow_users_to_change_password".into(), Value::Bool(p.allow_users_to_change_password()));
        a.insert("hard_expiry".into(), Value::Bool(p.hard_expiry().unwrap_or(false)));
        Ok(vec![normalized("aws_iam_account_password_policy", PASSWORD_POLICY_ID, a)])
    }
}
