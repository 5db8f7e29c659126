/** Distributions and tests shared by the layers that decide from data (search, report). Pure. */
export { incompleteBeta, studentTCdf, studentTQuantile } from './student-t';
