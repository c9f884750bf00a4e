/**
 * A click the tracker cannot serve because of what it was sent (or how the funnel is set up): the
 * app's error handler answers it with its status and `{ error: message }`, and logs it.
 */
export class ClickError extends Error {
  constructor(
    readonly statusCode: 400 | 404 | 409 | 422,
    message: string,
  ) {
    super(message);
    this.name = "ClickError";
  }
}

export const badRequest = (message: string) => new ClickError(400, message);
export const notFound = (message: string) => new ClickError(404, message);
/** The link is fine but the funnel behind it cannot send the visit anywhere. */
export const unroutable = (message: string) => new ClickError(422, message);
