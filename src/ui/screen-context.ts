/** What panes and overlays share beyond the store: the review model (diffs loaded through the port). */
import { createContext, useContext } from 'react';
import { ReviewModel } from './review-model.js';

export const ReviewContext = createContext<ReviewModel>(new ReviewModel(undefined));

export function useReviewModel(): ReviewModel {
  return useContext(ReviewContext);
}
