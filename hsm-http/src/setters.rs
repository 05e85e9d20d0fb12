//! [`setters!`]: builder methods that store their argument, as it is, in one field.

/// Builder methods `name(value: Type) => field` that store `value` in `self.field` and return
/// `self`; each keeps the attributes (docs, `#[must_use]`) written before it.
macro_rules! setters {
    ($($(#[$attr:meta])* $name:ident($value:ident: $ty:ty) => $field:ident;)*) => {$(
        $(#[$attr])*
        pub fn $name(mut self, $value: $ty) -> Self {
            self.$field = $value;
            self
        }
    )*};
}
