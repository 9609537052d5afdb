/** What panes and overlays share beyond the store: the review and proposals models (loaded through their ports). */
import { createContext, useContext } from 'react';
import { ProposalsModel } from './proposals-model.js';
import { ReviewModel } from './review-model.js';
import { SpendHistoryModel } from './spend-history.js';

export const ReviewContext = createContext<ReviewModel>(new ReviewModel(undefined));

export function useReviewModel(): ReviewModel {
  return useContext(ReviewContext);
}

export const ProposalsContext = createContext<ProposalsModel>(new ProposalsModel(undefined));

export function useProposalsModel(): ProposalsModel {
  return useContext(ProposalsContext);
}

export const SpendHistoryContext = createContext<SpendHistoryModel>(new SpendHistoryModel(undefined));

export function useSpendHistory(): SpendHistoryModel {
  return useContext(SpendHistoryContext);
}
