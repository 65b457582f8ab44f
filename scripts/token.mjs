// npm run token -- --role admin [--sub <uuid>] [--merchant <id>] [--expires 12h]
// Prints a dev JWT signed with JWT_SECRET from .dev.vars (created by `npm start`).
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { ensureDevVars, readDevVars } from "./lib/dev-vars.mjs";
import { signDevToken } from "./lib/token.mjs";

const ROLES = ["user", "merchant", "admin", "service"];
const { values } = parseArgs({
  options: {
    role: { type: "string", default: "user" },
    sub: { type: "string" },
    merchant: { type: "string" },
    expires: { type: "string", default: "12h" },
    json: { type: "boolean", default: false },
  },
});

if (!ROLES.includes(values.role)) {
  console.error(`--role must be one of: ${ROLES.join(", ")}`);
  process.exit(2);
}
if (values.role === "merchant" && !values.merchant) values.merchant = randomUUID();

ensureDevVars();
const { JWT_SECRET } = readDevVars();
const sub = values.sub ?? randomUUID();
const token = await signDevToken(JWT_SECRET, {
  role: values.role,
  sub,
  merchantId: values.merchant,
  expiresIn: values.expires,
});
if (values.json)
  console.log(JSON.stringify({ token, sub, role: values.role, merchant_id: values.merchant ?? null }));
else console.log(token);
