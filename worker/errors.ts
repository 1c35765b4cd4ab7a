/** The generation was cancelled while it ran: stop quietly, do not retry. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}
