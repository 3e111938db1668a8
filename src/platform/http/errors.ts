/**
 * The one error type routes throw. `code` is stable (clients match on it); `message` names the
 * field or rule that failed. 5xx messages are replaced by a generic one before leaving the process.
 */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  static badRequest(code: string, message: string, details?: Record<string, unknown>) {
    return new AppError(400, code, message, details);
  }
  static unauthorized(code: string, message = 'unauthorized') {
    return new AppError(401, code, message);
  }
  static notFound(code: string, message: string) {
    return new AppError(404, code, message);
  }
  static unavailable(code: string, message: string) {
    return new AppError(503, code, message);
  }
}

/** Turns zod issues into "field.path: message; …" so a 400 names what is wrong. */
export function describeZodIssues(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(body)'}: ${i.message}`).join('; ');
}
