//! Minting access tokens through the service (for the token endpoint, the
//! admin API and the CLI), with the identity read fresh from the store.

use std::time::Duration;

use super::IdentityService;
use crate::error::IdentityError;
use crate::principal::Actor;
use crate::tokens::MintedToken;

impl IdentityService {
    /// Mints an access token for the identity named `identity_name`, read
    /// from the store now (so a disabled or offboarded identity is refused
    /// even before the revocation cache hears of it). See
    /// [`crate::AccessTokens::mint`] for the arguments.
    /// [`IdentityError::TokensNotConfigured`] without attached tokens.
    pub async fn mint_access_token(
        &self,
        identity_name: &str,
        scope: Option<&str>,
        actor_chain: &[Actor],
        requested_lifetime: Option<Duration>,
        now: i64,
    ) -> Result<MintedToken, IdentityError> {
        let tokens = self.tokens().ok_or(IdentityError::TokensNotConfigured)?;
        let identity = self.identity(identity_name).await?;
        tokens.mint(&identity, scope, actor_chain, requested_lifetime, now)
    }
}
