//! `retour institution` and `retour user`: the administration an installation starts with.

use std::io::IsTerminal;

use anyhow::Context;
use retour_api::ApiError;
use retour_api::admin::{self, Administrator};
use retour_store::{Store, StoreError};

use crate::cli::{CreateInstitutionArgs, CreateUserArgs};

/// An administration error as one line: each invalid field with its reason.
pub(crate) fn refused(error: ApiError) -> anyhow::Error {
    match error {
        ApiError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        ApiError::Conflict { detail, .. } => anyhow::anyhow!("{detail}"),
        ApiError::Internal(cause) => anyhow::anyhow!("{cause}"),
        other => anyhow::anyhow!("{other}"),
    }
}

pub(crate) async fn create_institution(
    store: &Store,
    args: CreateInstitutionArgs,
) -> anyhow::Result<()> {
    let request = admin::InstitutionRequest {
        kind: args.kind,
        name: args.name,
        canton: args.canton,
        federal_region: args.federal_region,
        country: args.country,
        contact_email: args.contact_email,
        contact_phone: args.contact_phone,
        // Institutions made outside the demo require a second factor.
        mfa_required: true,
    };
    let institution = admin::create_institution(store, request, &Administrator::command_line())
        .await
        .map_err(refused)?;
    tracing::info!(institution.id = %institution.id, "institution created");
    println!("{}", institution.id);
    Ok(())
}

pub(crate) async fn list_institutions(store: &Store) -> anyhow::Result<()> {
    let institutions = store.list_institutions(&Default::default()).await?;
    for institution in institutions {
        let state = if institution.active { "" } else { "\t(disabled)" };
        println!("{}\t{}\t{}{state}", institution.id, institution.kind.as_str(), institution.name);
    }
    Ok(())
}

pub(crate) async fn create_user(store: &Store, args: CreateUserArgs) -> anyhow::Result<()> {
    let institution = match args.institution.parse::<uuid::Uuid>() {
        Ok(id) => store.get_institution(id).await,
        Err(_) => store.institution_by_name(&args.institution).await,
    };
    let institution = match institution {
        Err(StoreError::NotFound) => {
            anyhow::bail!("institution: no institution has the id or name `{}`", args.institution)
        }
        other => other?,
    };
    let password = read_password(&args.email, args.password_stdin)?;
    let request = admin::UserRequest {
        display_name: args.display_name.unwrap_or_else(|| args.email.clone()),
        email: args.email,
        role: args.role,
        institution_id: institution.id,
        password,
    };
    let user = admin::create_user(store, request, &Administrator::command_line())
        .await
        .map_err(refused)?;
    tracing::info!(user.id = %user.id, institution = %institution.name, "user created");
    println!("{}", user.id);
    Ok(())
}

/// The new password: typed twice at a terminal, else the first line of standard input.
pub(crate) fn read_password(email: &str, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password(format!("Password for {email}: "))
        .context("reading the password")?;
    let second = rpassword::prompt_password("Repeat it: ").context("reading the password")?;
    if first != second {
        anyhow::bail!("the two passwords differ");
    }
    Ok(first)
}
