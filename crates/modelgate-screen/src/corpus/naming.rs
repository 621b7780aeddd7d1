//! How each credential kind is named where it shows up: variable names
//! (`GITHUB_TOKEN`), human phrases ("GitHub token"), and whether the kind
//! can only be recognised next to its name.

/// Names, phrases and context needs of a kind.
pub(crate) struct Naming {
    pub names: &'static [&'static str],
    pub phrases: &'static [&'static str],
    /// Only findable next to its name (recognised by context).
    pub needs_name: bool,
    /// Multi-line values (key blocks, JSON files).
    pub multiline: bool,
}

const fn n(
    names: &'static [&'static str],
    phrases: &'static [&'static str],
    needs_name: bool,
) -> Naming {
    Naming {
        names,
        phrases,
        needs_name,
        multiline: false,
    }
}

/// How `kind` is named in code and in prose.
pub(crate) fn naming(kind: &str) -> Naming {
    match kind {
        "aws_access_key_id" => n(
            &["AWS_ACCESS_KEY_ID"],
            &["AWS access key id", "access key"],
            false,
        ),
        "aws_secret_access_key" => n(
            &["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"],
            &["AWS secret access key", "aws secret key"],
            true,
        ),
        "gcp_api_key" => n(
            &["GOOGLE_API_KEY", "MAPS_API_KEY"],
            &["Google API key", "Maps key"],
            false,
        ),
        "azure_storage_key" => n(
            &["AZURE_STORAGE_CONNECTION_STRING"],
            &["storage connection string"],
            false,
        ),
        "azure_client_secret" => n(
            &["AZURE_CLIENT_SECRET", "CLIENT_SECRET"],
            &["Azure client secret", "app registration secret"],
            true,
        ),
        "github_pat"
        | "github_oauth"
        | "github_user_token"
        | "github_server_token"
        | "github_refresh_token"
        | "github_fine_grained_pat" => n(
            &["GITHUB_TOKEN", "GH_TOKEN"],
            &["GitHub token", "personal access token"],
            false,
        ),
        "gitlab_pat" | "gitlab_runner_token" | "gitlab_pipeline_trigger" => n(
            &["GITLAB_TOKEN", "CI_JOB_TRIGGER"],
            &["GitLab token", "runner token"],
            false,
        ),
        "openai_api_key" => n(
            &["OPENAI_API_KEY"],
            &["OpenAI key", "openai api key"],
            false,
        ),
        "anthropic_api_key" | "anthropic_admin_key" => n(
            &["ANTHROPIC_API_KEY"],
            &["Anthropic key", "claude api key"],
            false,
        ),
        "huggingface_token" => n(
            &["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"],
            &["Hugging Face token", "hf token"],
            false,
        ),
        "slack_bot_token" | "slack_user_token" | "slack_app_token" => n(
            &["SLACK_BOT_TOKEN", "SLACK_TOKEN"],
            &["Slack token", "bot token"],
            false,
        ),
        "slack_webhook" => n(
            &["SLACK_WEBHOOK_URL"],
            &["Slack webhook", "alerts webhook"],
            false,
        ),
        "stripe_secret_key" | "stripe_restricted_key" => n(
            &["STRIPE_SECRET_KEY", "STRIPE_KEY"],
            &["Stripe key", "stripe secret"],
            false,
        ),
        "twilio_api_key" => n(
            &["TWILIO_API_KEY", "TWILIO_KEY_SID"],
            &["Twilio API key", "twilio key"],
            false,
        ),
        "twilio_account_sid" => n(
            &["TWILIO_ACCOUNT_SID"],
            &["Twilio account SID", "account sid"],
            false,
        ),
        "sendgrid_api_key" => n(
            &["SENDGRID_API_KEY"],
            &["SendGrid key", "sendgrid api key"],
            false,
        ),
        "mailgun_api_key" => n(
            &["MAILGUN_API_KEY"],
            &["Mailgun key", "mailgun api key"],
            false,
        ),
        "npm_token" => n(
            &["NPM_TOKEN", "NODE_AUTH_TOKEN"],
            &["npm token", "publish token"],
            false,
        ),
        "pypi_token" => n(
            &["PYPI_TOKEN", "TWINE_PASSWORD"],
            &["PyPI token", "upload token"],
            false,
        ),
        "docker_hub_pat" => n(
            &["DOCKERHUB_TOKEN", "DOCKER_PASSWORD"],
            &["Docker Hub token", "registry token"],
            false,
        ),
        "digitalocean_token" => n(
            &["DIGITALOCEAN_TOKEN", "DO_TOKEN"],
            &["DigitalOcean token", "do token"],
            false,
        ),
        "shopify_token" => n(
            &["SHOPIFY_ACCESS_TOKEN"],
            &["Shopify token", "admin api token"],
            false,
        ),
        "atlassian_api_token" => n(
            &["JIRA_API_TOKEN", "ATLASSIAN_TOKEN"],
            &["Jira API token", "atlassian token"],
            false,
        ),
        "datadog_api_key" => n(
            &["DD_API_KEY", "DATADOG_API_KEY"],
            &["Datadog API key", "datadog api key"],
            true,
        ),
        "new_relic_key" => n(
            &["NEW_RELIC_API_KEY", "NEWRELIC_KEY"],
            &["New Relic key", "newrelic user key"],
            false,
        ),
        "discord_bot_token" => n(
            &["DISCORD_BOT_TOKEN", "DISCORD_TOKEN"],
            &["Discord bot token", "discord token"],
            true,
        ),
        "telegram_bot_token" => n(
            &["TELEGRAM_BOT_TOKEN", "TG_TOKEN"],
            &["Telegram bot token", "telegram token"],
            false,
        ),
        "private_key_pem" | "openssh_private_key" | "pgp_private_key" | "gcp_service_account" => {
            Naming {
                names: &["PRIVATE_KEY"],
                phrases: &["private key"],
                needs_name: false,
                multiline: true,
            }
        }
        "jwt" => n(
            &["ACCESS_TOKEN", "ID_TOKEN"],
            &["access token", "session jwt"],
            false,
        ),
        "database_url_with_password" => n(
            &["DATABASE_URL", "MONGO_URI"],
            &["database url", "connection string"],
            false,
        ),
        "basic_auth_url" => n(
            &["REPO_URL", "UPLOAD_URL"],
            &["repo url", "upload endpoint"],
            false,
        ),
        "generic_secret_assignment" => n(
            &[
                "DB_PASSWORD",
                "SECRET_KEY",
                "API_SECRET",
                "AUTH_TOKEN",
                "REDIS_PASSWORD",
                "JWT_SECRET",
                "SESSION_SECRET",
                "ACCESS_TOKEN",
            ],
            &[
                "database password",
                "api secret",
                "auth token",
                "redis password",
                "session secret",
            ],
            true,
        ),
        "modelgate_api_key" => n(
            &["MODELGATE_API_KEY", "MGK_KEY"],
            &["modelgate key", "gateway api key"],
            false,
        ),
        _ => n(&["VALUE"], &["value"], false),
    }
}
