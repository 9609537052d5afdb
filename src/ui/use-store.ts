/** Components read the store through selectors, so a change in one loop re-renders only its row. */
import { createContext, useCallback, useContext, useSyncExternalStore } from 'react';
import type { UiState, UiStore } from './store.js';

export const StoreContext = createContext<UiStore | null>(null);

export function useUiStore(): UiStore {
  const store = useContext(StoreContext);
  if (store === null) {
    throw new Error('useUiStore: no store in context; render the screen through <App store={...}>');
  }
  return store;
}

/** The selector must return a primitive or an object already in the state, never a new one. */
export function useUiSelector<T>(selector: (state: UiState) => T): T {
  const store = useUiStore();
  const subscribe = useCallback((onChange: () => void) => store.subscribe(onChange), [store]);
  return useSyncExternalStore(subscribe, () => selector(store.getState()));
}
