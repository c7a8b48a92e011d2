import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export interface DemoWebhookReceiver {
  readonly url: string;
  /** The secret becomes known once the endpoint is registered. */
  useSecret(secret: string): void;
  close(): Promise<void>;
}

export interface VerifiedDelivery {
  readonly webhookId: string;
  readonly event: Record<string, unknown>;
}

/**
 * The receiver `npm start` registers as a webhook: on 127.0.0.1, it checks every delivery's
 * signature with the `standardwebhooks` package, as any receiver would, answers 204 when it
 * verifies and 400 when not, and reports each one.
 */
export async function startDemoWebhookReceiver(report: { verified(delivery: VerifiedDelivery): void; refused(reason: string): void }): Promise<DemoWebhookReceiver> {
  let webhook: Webhook | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
      try {
        if (webhook === undefined) throw new WebhookVerificationError('no secret yet');
        const event = webhook.verify(body, headers) as Record<string, unknown>;
        report.verified({ webhookId: headers['webhook-id'] ?? '', event });
        res.writeHead(204).end();
      } catch (error) {
        report.refused(error instanceof WebhookVerificationError ? error.message : 'unreadable request');
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/unread`,
    useSecret: (secret) => {
      webhook = new Webhook(secret);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
