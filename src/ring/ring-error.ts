/** Errors a ring raises; `code` is stable for callers and tests. */
export type RingErrorCode =
  | 'MESSAGE_TOO_LARGE' // payload exceeds the ring's messageBytesMax
  | 'CLOSED' // the other side (or this one) closed the ring
  | 'RESERVATION_OPEN' // reserve() again before commit() of the previous reservation
  | 'NO_RESERVATION' // commit() without a reservation
  | 'CORRUPT'; // a header in the ring is impossible (a bug or a foreign writer)

export class RingError extends Error {
  constructor(readonly code: RingErrorCode, message: string) {
    super(message);
    this.name = 'RingError';
  }
}
