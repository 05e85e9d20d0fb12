//! Which [`NetHsmClient`](super::NetHsmClient) method sends each operation of the official
//! OpenAPI spec (`nethsm-api.yaml`, NetHSM v5.0). A test compares this table with the spec and
//! calls every method against a recording server.

/// One operation of the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The HTTP method.
    pub method: &'static str,
    /// The path template under `/api/v1`, as the spec writes it.
    pub path: &'static str,
    /// The client method that sends it.
    pub client_method: &'static str,
}

const fn op(method: &'static str, path: &'static str, client_method: &'static str) -> Operation {
    Operation {
        method,
        path,
        client_method,
    }
}

/// Every operation of the spec, in its order.
#[rustfmt::skip] // one operation per line, in columns: the spec's table as it reads
pub const OPERATIONS: &[Operation] = &[
    op("GET",    "/info",                                 "info"),
    op("GET",    "/health/alive",                         "health_alive"),
    op("GET",    "/health/ready",                         "health_ready"),
    op("GET",    "/health/state",                         "health_state"),
    op("GET",    "/health/diagnose",                      "health_diagnose"),
    op("GET",    "/metrics",                              "metrics"),
    op("POST",   "/provision",                            "provision"),
    op("POST",   "/unlock",                               "unlock"),
    op("POST",   "/lock",                                 "lock"),
    op("POST",   "/random",                               "random"),
    op("GET",    "/keys",                                 "list_keys, list_keys_filtered"),
    op("POST",   "/keys",                                 "import_key(None, ..), import_key_pem(None, ..)"),
    op("POST",   "/keys/generate",                        "generate_key"),
    op("GET",    "/keys/{KeyPrefix}*",                    "list_keys_filtered (prefix)"),
    op("GET",    "/keys/{KeyID}",                         "get_key"),
    op("PUT",    "/keys/{KeyID}",                         "import_key(Some(id), ..), import_key_pem(Some(id), ..)"),
    op("DELETE", "/keys/{KeyID}",                         "delete_key"),
    op("PUT",    "/keys/{KeyID}/label",                   "set_key_label"),
    op("DELETE", "/keys/{KeyID}/label",                   "delete_key_label"),
    op("GET",    "/keys/{KeyID}/public.pem",              "public_key_pem"),
    op("POST",   "/keys/{KeyID}/csr.pem",                 "key_csr_pem"),
    op("POST",   "/keys/{KeyID}/decrypt",                 "decrypt"),
    op("POST",   "/keys/{KeyID}/encrypt",                 "encrypt"),
    op("POST",   "/keys/{KeyID}/sign",                    "sign"),
    op("GET",    "/keys/{KeyID}/cert",                    "key_certificate"),
    op("PUT",    "/keys/{KeyID}/cert",                    "put_key_certificate"),
    op("DELETE", "/keys/{KeyID}/cert",                    "delete_key_certificate"),
    op("POST",   "/keys/{KeyID}/move",                    "move_key"),
    op("PUT",    "/keys/{KeyID}/restrictions/tags/{Tag}", "add_key_tag"),
    op("DELETE", "/keys/{KeyID}/restrictions/tags/{Tag}", "remove_key_tag"),
    op("POST",   "/cluster/force-new",                    "force_new_cluster"),
    op("POST",   "/cluster/join",                         "join_cluster"),
    op("GET",    "/cluster/members",                      "cluster_members"),
    op("POST",   "/cluster/members",                      "add_cluster_member"),
    op("POST",   "/cluster/members/{MemberID}/promote",   "promote_cluster_member"),
    op("PUT",    "/cluster/members/{MemberID}",           "update_cluster_member"),
    op("DELETE", "/cluster/members/{MemberID}",           "remove_cluster_member"),
    op("GET",    "/namespaces",                           "list_namespaces"),
    op("PUT",    "/namespaces/{NamespaceID}",             "add_namespace"),
    op("DELETE", "/namespaces/{NamespaceID}",             "delete_namespace"),
    op("GET",    "/users",                                "list_users"),
    op("POST",   "/users",                                "create_user(None, ..)"),
    op("GET",    "/users/{UserID}",                       "get_user"),
    op("PUT",    "/users/{UserID}",                       "add_user"),
    op("POST",   "/users/{UserID}",                       "create_user(Some(namespace), ..)"),
    op("DELETE", "/users/{UserID}",                       "delete_user"),
    op("POST",   "/users/{UserID}/passphrase",            "set_user_passphrase"),
    op("GET",    "/users/{UserID}/tags",                  "user_tags"),
    op("PUT",    "/users/{UserID}/tags/{Tag}",            "add_user_tag"),
    op("DELETE", "/users/{UserID}/tags/{Tag}",            "remove_user_tag"),
    op("PUT",    "/config/unlock-passphrase",             "change_unlock_passphrase"),
    op("GET",    "/config/unattended-boot",               "unattended_boot"),
    op("PUT",    "/config/unattended-boot",               "set_unattended_boot"),
    op("GET",    "/config/tls/public.pem",                "tls_public_key_pem"),
    op("GET",    "/config/tls/cert.pem",                  "tls_certificate_pem"),
    op("PUT",    "/config/tls/cert.pem",                  "set_tls_certificate_pem"),
    op("POST",   "/config/tls/csr.pem",                   "tls_csr_pem"),
    op("POST",   "/config/tls/generate",                  "generate_tls_key"),
    op("GET",    "/config/tls/cluster-ca.pem",            "cluster_ca_pem"),
    op("PUT",    "/config/tls/cluster-ca.pem",            "set_cluster_ca_pem"),
    op("GET",    "/config/network",                       "network"),
    op("PUT",    "/config/network",                       "set_network"),
    op("GET",    "/config/logging",                       "logging"),
    op("PUT",    "/config/logging",                       "set_logging"),
    op("PUT",    "/config/backup-passphrase",             "change_backup_passphrase"),
    op("GET",    "/config/ntp",                           "ntp"),
    op("PUT",    "/config/ntp",                           "set_ntp"),
    op("GET",    "/config/time",                          "time"),
    op("PUT",    "/config/time",                          "set_time"),
    op("GET",    "/system/info",                          "system_info"),
    op("POST",   "/system/reboot",                        "reboot"),
    op("POST",   "/system/shutdown",                      "shutdown"),
    op("POST",   "/system/factory-reset",                 "factory_reset"),
    op("POST",   "/system/update",                        "upload_update"),
    op("POST",   "/system/commit-update",                 "commit_update"),
    op("POST",   "/system/cancel-update",                 "cancel_update"),
    op("POST",   "/system/backup",                        "backup"),
    op("POST",   "/system/restore",                       "restore"),
];
