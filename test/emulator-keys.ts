import { generateKeyPairSync, randomBytes } from "node:crypto";

/**
 * Fresh credentials for one test run, generated in Node before the runtime starts:
 * the platform gets the secrets, the emulators get what they need to verify them.
 * Nothing here is a real key, and nothing is reused between runs.
 */
export function makeTestSecrets() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const clientEmail = "push@test-project.iam.gserviceaccount.com";
  const projectId = "test-project";
  const webhookSecret = `whsec_${randomBytes(24).toString("hex")}`;
  return {
    platform: {
      JWT_SECRET: randomBytes(32).toString("hex"),
      STRIPE_SECRET_KEY: `sk_test_${randomBytes(12).toString("hex")}`,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      GOOGLE_SERVICE_ACCOUNT_JSON: JSON.stringify({
        type: "service_account",
        project_id: projectId,
        client_email: clientEmail,
        private_key_id: randomBytes(8).toString("hex"),
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      }),
    },
    emulators: {
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_WEBHOOK_URL: "",
      GOOGLE_SA_CLIENT_EMAIL: clientEmail,
      GOOGLE_SA_PUBLIC_KEY: publicKey.export({ type: "spki", format: "pem" }).toString(),
      GOOGLE_PROJECT_ID: projectId,
    },
  };
}
