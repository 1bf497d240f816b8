//! Seeding the demo installation.

use retour_store::Store;
use retour_store::demo::DEMO_PASSWORD;

use crate::auth::password;

/// Seeds the demo institutions and the demo users of every role, all with the password `retour-demo`.
pub async fn seed(store: &Store) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    store.seed_demo(&hash).await?;
    Ok(())
}
