// Workspace slugs become host names (`{slug}.{base domain}`), so some are kept for the operator:
// names a server or mail setup uses, names users would mistake for the product, and labels IDNA
// reserves (`xn--…` punycode, anything with `--` in the third and fourth places).

export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
  "www",
  "admin",
  "administrator",
  "api",
  "app",
  "apps",
  "dashboard",
  "console",
  "mail",
  "email",
  "smtp",
  "imap",
  "pop",
  "pop3",
  "mx",
  "webmail",
  "autoconfig",
  "autodiscover",
  "ftp",
  "sftp",
  "ssh",
  "vpn",
  "ns",
  "ns1",
  "ns2",
  "ns3",
  "ns4",
  "dns",
  "localhost",
  "root",
  "hostmaster",
  "postmaster",
  "webmaster",
  "abuse",
  "security",
  "noc",
  "status",
  "help",
  "support",
  "docs",
  "blog",
  "cdn",
  "static",
  "assets",
  "media",
  "auth",
  "login",
  "signin",
  "signup",
  "register",
  "account",
  "accounts",
  "billing",
  "internal",
  "track",
  "tracker",
  "tracking",
  "hitrail",
  "test",
  "staging",
  "dev",
  "wpad",
  "isatap",
]);

/** Why a slug may not be taken, or null when it may. */
export function reservedSlugReason(slug: string): string | null {
  const s = slug.trim().toLowerCase();
  if (RESERVED_SLUGS.has(s)) return `'${s}' is reserved`;
  if (s.startsWith("xn--")) return "punycode names (xn--…) are reserved";
  if (s.length >= 4 && s.slice(2, 4) === "--")
    return "names with '--' in the third and fourth places are reserved";
  return null;
}
