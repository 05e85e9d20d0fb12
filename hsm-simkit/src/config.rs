//! The builder methods of a simulator's configuration.

/// Builder methods that set public fields of a configuration struct, one per field:
/// `fn name(mut self, value: Type) -> Self`, each with the documentation written before it.
///
/// ```
/// pub struct Config {
///     /// Where to listen.
///     pub listen: std::net::SocketAddr,
/// }
/// impl Config {
///     hsm_simkit::setters! {
///         /// Sets where to listen.
///         listen: std::net::SocketAddr,
///     }
/// }
/// # let c = Config { listen: ([127, 0, 0, 1], 0).into() }.listen(([127, 0, 0, 1], 8443).into());
/// # assert_eq!(c.listen.port(), 8443);
/// ```
#[macro_export]
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $field(mut self, $field: $ty) -> Self {
                self.$field = $field;
                self
            }
        )*
    };
}
