//! The IAM remediation calls beyond a role's own settings: attachments, inline policies,
//! memberships, user tags, access key status, the password policy and OIDC audiences.

use driftguard_engine::remediation::aws::{PasswordChange, Principal, Tag};
use serde_json::Value;

use crate::aws::AwsClient;
use crate::retry::CallError;

/// `iam:Attach…Policy` / `iam:Detach…Policy`.
pub(super) async fn attachment(
    aws: &AwsClient,
    principal: Principal,
    name: &str,
    arn: &str,
    attach: bool,
) -> Result<(), CallError> {
    let iam = aws.iam();
    match (principal, attach) {
        (Principal::Role, true) => {
            send!(aws, "iam:AttachRolePolicy", iam.attach_role_policy().role_name(name).policy_arn(arn)).map(drop)
        }
        (Principal::Role, false) => {
            send!(aws, "iam:DetachRolePolicy", iam.detach_role_policy().role_name(name).policy_arn(arn)).map(drop)
        }
        (Principal::User, true) => {
            send!(aws, "iam:AttachUserPolicy", iam.attach_user_policy().user_name(name).policy_arn(arn)).map(drop)
        }
        (Principal::User, false) => {
            send!(aws, "iam:DetachUserPolicy", iam.detach_user_policy().user_name(name).policy_arn(arn)).map(drop)
        }
        (Principal::Group, true) => {
            send!(aws, "iam:AttachGroupPolicy", iam.attach_group_policy().group_name(name).policy_arn(arn)).map(drop)
        }
        (Principal::Group, false) => {
            send!(aws, "iam:DetachGroupPolicy", iam.detach_group_policy().group_name(name).policy_arn(arn)).map(drop)
        }
    }
}

/// `iam:Put…Policy` (a document) / `iam:Delete…Policy` (none).
pub(super) async fn inline(
    aws: &AwsClient,
    principal: Principal,
    name: &str,
    policy_name: &str,
    document: Option<&Value>,
) -> Result<(), CallError> {
    let iam = aws.iam();
    let text = document.map(Value::to_string);
    match (principal, text) {
        (Principal::Role, Some(text)) => send!(
            aws,
            "iam:PutRolePolicy",
            iam.put_role_policy().role_name(name).policy_name(policy_name).policy_document(text)
        )
        .map(drop),
        (Principal::Role, None) => {
            send!(aws, "iam:DeleteRolePolicy", iam.delete_role_policy().role_name(name).policy_name(policy_name))
                .map(drop)
        }
        (Principal::User, Some(text)) => send!(
            aws,
            "iam:PutUserPolicy",
            iam.put_user_policy().user_name(name).policy_name(policy_name).policy_document(text)
        )
        .map(drop),
        (Principal::User, None) => {
            send!(aws, "iam:DeleteUserPolicy", iam.delete_user_policy().user_name(name).policy_name(policy_name))
                .map(drop)
        }
        (Principal::Group, Some(text)) => send!(
            aws,
            "iam:PutGroupPolicy",
            iam.put_group_policy().group_name(name).policy_name(policy_name).policy_document(text)
        )
        .map(drop),
        (Principal::Group, None) => {
            send!(aws, "iam:DeleteGroupPolicy", iam.delete_group_policy().group_name(name).policy_name(policy_name))
                .map(drop)
        }
    }
}

/// `iam:AddUserToGroup` / `iam:RemoveUserFromGroup`.
pub(super) async fn membership(aws: &AwsClient, user: &str, group: &str, add: bool) -> Result<(), CallError> {
    let iam = aws.iam();
    if add {
        send!(aws, "iam:AddUserToGroup", iam.add_user_to_group().user_name(user).group_name(group)).map(drop)
    } else {
        send!(aws, "iam:RemoveUserFromGroup", iam.remove_user_from_group().user_name(user).group_name(group)).map(drop)
    }
}

/// `iam:TagUser` / `iam:UntagUser`.
pub(super) async fn user_tag(aws: &AwsClient, user: &str, tag: &Tag) -> Result<(), CallError> {
    let iam = aws.iam();
    match &tag.value {
        Some(value) => {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key(&tag.key)
                .value(value)
                .build()
                .map_err(|error| CallError::local("iam:TagUser", error.to_string()))?;
            send!(aws, "iam:TagUser", iam.tag_user().user_name(user).tags(tag)).map(drop)
        }
        None => send!(aws, "iam:UntagUser", iam.untag_user().user_name(user).tag_keys(&tag.key)).map(drop),
    }
}

/// `iam:UpdateAccessKey`, as the key's own user (found from the key: a key id names one
/// user in the account).
pub(super) async fn access_key(aws: &AwsClient, key: &str, status: &str) -> Result<(), CallError> {
    let iam = aws.iam();
    let last_use = send!(aws, "iam:GetAccessKeyLastUsed", iam.get_access_key_last_used().access_key_id(key))?;
    let Some(user) = last_use.user_name() else {
        return Err(CallError::local("iam:GetAccessKeyLastUsed", format!("no user owns access key {key}")));
    };
    let status = aws_sdk_iam::types::StatusType::from(status);
    send!(aws, "iam:UpdateAccessKey", iam.update_access_key().user_name(user).access_key_id(key).status(status))
        .map(drop)
}

/// `iam:UpdateAccountPasswordPolicy` with every setting as it is but the one restored:
/// the API resets what a request leaves out.
pub(super) async fn password_policy(aws: &AwsClient, change: PasswordChange) -> Result<(), CallError> {
    let iam = aws.iam();
    let current = match send!(aws, "iam:GetAccountPasswordPolicy", iam.get_account_password_policy()) {
        Ok(answer) => answer.password_policy().cloned(),
        Err(error) if error.is_not_found() => None,
        Err(error) => return Err(error),
    };
    let p = current.as_ref();
    let mut request = iam
        .update_account_password_policy()
        .set_minimum_password_length(p.and_then(aws_sdk_iam::types::PasswordPolicy::minimum_password_length))
        .set_require_symbols(p.map(aws_sdk_iam::types::PasswordPolicy::require_symbols))
        .set_require_numbers(p.map(aws_sdk_iam::types::PasswordPolicy::require_numbers))
        .set_require_uppercase_characters(p.map(aws_sdk_iam::types::PasswordPolicy::require_uppercase_characters))
        .set_require_lowercase_characters(p.map(aws_sdk_iam::types::PasswordPolicy::require_lowercase_characters))
        .set_allow_users_to_change_password(p.map(aws_sdk_iam::types::PasswordPolicy::allow_users_to_change_password))
        .set_max_password_age(p.and_then(aws_sdk_iam::types::PasswordPolicy::max_password_age))
        .set_password_reuse_prevention(p.and_then(aws_sdk_iam::types::PasswordPolicy::password_reuse_prevention))
        .set_hard_expiry(p.and_then(aws_sdk_iam::types::PasswordPolicy::hard_expiry));
    // 0 is "not set" for the two numbers the API takes only from 1.
    let positive = |n: i32| (n > 0).then_some(n);
    request = match change {
        PasswordChange::MinimumPasswordLength(n) => request.minimum_password_length(n),
        PasswordChange::MaxPasswordAge(n) => request.set_max_password_age(positive(n)),
        PasswordChange::PasswordReusePrevention(n) => request.set_password_reuse_prevention(positive(n)),
        PasswordChange::RequireSymbols(b) => request.require_symbols(b),
        PasswordChange::RequireNumbers(b) => request.require_numbers(b),
        PasswordChange::RequireUppercaseCharacters(b) => request.require_uppercase_characters(b),
        PasswordChange::RequireLowercaseCharacters(b) => request.require_lowercase_characters(b),
        PasswordChange::AllowUsersToChangePassword(b) => request.allow_users_to_change_password(b),
        PasswordChange::HardExpiry(b) => request.hard_expiry(b),
    };
    send!(aws, "iam:UpdateAccountPasswordPolicy", request).map(drop)
}

/// `iam:AddClientIDToOpenIDConnectProvider` / `iam:RemoveClientIDFromOpenIDConnectProvider`.
pub(super) async fn oidc_client(aws: &AwsClient, arn: &str, client_id: &str, add: bool) -> Result<(), CallError> {
    let iam = aws.iam();
    if add {
        send!(
            aws,
            "iam:AddClientIDToOpenIDConnectProvider",
            iam.add_client_id_to_open_id_connect_provider().open_id_connect_provider_arn(arn).client_id(client_id)
        )
        .map(drop)
    } else {
        send!(
            aws,
            "iam:RemoveClientIDFromOpenIDConnectProvider",
            iam.remove_client_id_from_open_id_connect_provider().open_id_connect_provider_arn(arn).client_id(client_id)
        )
        .map(drop)
    }
}
