import nodemailer from "nodemailer";

/** One message out. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends email; the api has one only when SMTP_URL is set. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** Email through SMTP (nodemailer): `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…`. */
export function smtpMailer(opts: { smtpUrl: string; from: string }): Mailer {
  const transport = nodemailer.createTransport(opts.smtpUrl);
  return {
    async send(message) {
      await transport.sendMail({ from: opts.from, ...message });
    },
    close: () => transport.close(),
  };
}
