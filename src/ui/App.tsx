/**
 * The supervisor screen: the header, the registered panes (or the open overlay), the footer, and
 * the one key dispatcher (overlay, then focused pane, then global). It reads the store; the only
 * ways back are the SupervisorPort (engine) and the ReviewPort (git).
 */
import { Box, useInput, useStdin, type Key } from 'ink';
import { useMemo, useRef, type JSX } from 'react';
import type { SupervisorPort } from '../core/control.js';
import type { ProposalsPort } from '../core/proposals.js';
import { HANDLERS, sendDenial, sendInstruction, type ActionContext } from './actions.js';
import type { Env } from './bell.js';
import { Footer, hints } from './components/Footer.js';
import { Header } from './components/Header.js';
import { dispatchKey } from './keymap.js';
import { computeLayout } from './layout.js';
import { editLine } from './line-input.js';
import { ApprovalOverlay } from './overlays/approval.js';
import { ConfirmOverlay } from './overlays/confirm.js';
import { HelpOverlay } from './overlays/help.js';
import { PANES } from './panes/registry.js';
import type { PaneSpec } from './panes/types.js';
import { ReviewModel } from './review-model.js';
import type { ReviewPort } from './review-port.js';
import { sendRejection } from './proposal-actions.js';
import { ProposalsModel } from './proposals-model.js';
import { ProposalsContext, ReviewContext, SpendHistoryContext } from './screen-context.js';
import { SpendHistoryModel, type SpendHistoryPort } from './spend-history.js';
import { useApprovalAutoOpen, useBell, useQuit, useRemoteReplies, useScreenState } from './screen-hooks.js';
import { popOverlay, topOverlay } from './screen.js';
import type { UiStore } from './store.js';
import { shallowArrayEqual, StoreContext, useUiSelector, useUiStore } from './use-store.js';
import { useTerminalSize } from './use-terminal-size.js';

export interface AppProps {
  store: UiStore;
  port: SupervisorPort;
  /** Git operations on finished runs (merge, discard, diff); absent: review keys say so. */
  review?: ReviewPort;
  /** Hill-climbing's proposals; absent: the pane says there are none yet. */
  proposals?: ProposalsPort;
  /** Spend before the screen opened (the ledger's hourly rollups); absent: the chart is this session's. */
  spendHistory?: SpendHistoryPort;
  /** Opens text in the person's editor (runTui suspends the screen for it); absent: `e` says so. */
  edit?: (text: string, name: string) => Promise<string | undefined>;
  /** The panes to draw (default: every registered pane). */
  panes?: readonly PaneSpec[];
  /** Writes the bell / notification bytes to the terminal (default: no bell). */
  notify?: (bytes: string) => void;
  env?: Env;
  /** Called once, just before the app exits. */
  onExit?: () => void;
}

export function App(props: AppProps): JSX.Element {
  const review = useMemo(() => new ReviewModel(props.review), [props.review]);
  const proposals = useMemo(() => new ProposalsModel(props.proposals), [props.proposals]);
  const history = useMemo(() => new SpendHistoryModel(props.spendHistory), [props.spendHistory]);
  return (
    <StoreContext.Provider value={props.store}>
      <ReviewContext.Provider value={review}>
        <ProposalsContext.Provider value={proposals}>
          <SpendHistoryContext.Provider value={history}>
            <Screen {...props} reviewModel={review} proposalsModel={proposals} />
          </SpendHistoryContext.Provider>
        </ProposalsContext.Provider>
      </ReviewContext.Provider>
    </StoreContext.Provider>
  );
}

const NO_ENV: Env = {};

function Screen(props: AppProps & { reviewModel: ReviewModel; proposalsModel: ProposalsModel }): JSX.Element {
  const { port, onExit } = props;
  const panes = props.panes ?? PANES;
  const store = useUiStore();
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize();
  const [screen, get, change] = useScreenState();
  const maxes = useUiSelector(
    (state) => panes.map((pane) => pane.maxHeight?.(state) ?? Number.MAX_SAFE_INTEGER),
    shallowArrayEqual,
  );
  const body = rows - 1 - 3;
  const layout = computeLayout(
    rows,
    panes.map((pane, i) => ({
      id: pane.id,
      minHeight: pane.minHeight,
      grow: pane.grow,
      max: maxes[i] ?? 0,
      prefer: Math.floor(body * (pane.preferShare ?? 0)),
    })),
    screen.focus,
  );
  const active = useQuit(screen, port, store, onExit);
  useBell(props.notify, props.env ?? NO_ENV);
  useApprovalAutoOpen(screen, get, change);
  useRemoteReplies(port, change);

  const context = useRef<ActionContext | undefined>(undefined);
  context.current = {
    store,
    port,
    review: props.reviewModel,
    proposals: props.proposalsModel,
    ...(props.edit === undefined ? {} : { edit: props.edit }),
    screen: get,
    change,
    heights: layout.heights,
  };

  const onKey = (input: string, key: Key): void => {
    const ctx = context.current;
    if (ctx === undefined) return;
    const top = topOverlay(get());
    // The text prompt takes every key: it is typing, not bindings.
    if (top?.kind === 'prompt') {
      const edit = editLine(top.text, input, key);
      if (edit.kind === 'edit')
        return change({ overlays: [...get().overlays.slice(0, -1), { ...top, text: edit.text }] });
      const text = edit.kind === 'submit' ? edit.text.trim() : '';
      if (top.purpose.type === 'deny') {
        if (edit.kind === 'cancel') return change(popOverlay(get()));
        return sendDenial(ctx, top.purpose.approval, text);
      }
      if (top.purpose.type === 'reject') {
        if (edit.kind === 'cancel') return change({ ...popOverlay(get()), notice: 'nothing was rejected' });
        return sendRejection(ctx, top.purpose.proposal, text);
      }
      if (text === '') return change(popOverlay(get()));
      return sendInstruction(ctx, top.purpose.loop, top.purpose.now, text);
    }
    if (get().notice !== undefined) change({ notice: undefined });
    const engineNotice = store.getState().notice;
    if (engineNotice !== undefined && engineNotice.seq > get().noticeSeen)
      change({ noticeSeen: engineNotice.seq });
    const binding = dispatchKey(
      { ...(top === undefined ? {} : { overlay: top.kind }), pane: get().focus },
      input,
      key,
    );
    if (binding !== undefined) HANDLERS[binding.id](ctx);
  };
  // While an editor has the terminal, Ink lets go of raw mode and the keys are the editor's.
  useInput(onKey, { isActive: isRawModeSupported === true && !screen.editing });

  const top = topOverlay(screen);
  const engineNotice = useUiSelector((state) => state.notice);
  const notice =
    screen.quitting && active > 0
      ? `stopping ${active} ${active === 1 ? 'loop' : 'loops'}… (q again to quit at once)`
      : (screen.notice ??
        (engineNotice !== undefined && engineNotice.seq > screen.noticeSeen ? engineNotice.text : undefined));

  return (
    <Box flexDirection="column" width={columns} height={layout.height}>
      <Header />
      {top?.kind === 'help' ? (
        <HelpOverlay height={layout.body} width={columns} />
      ) : top?.kind === 'approval' ? (
        <ApprovalOverlay height={layout.body} width={columns} approval={top.approval} />
      ) : top?.kind === 'confirm' ? (
        <ConfirmOverlay height={layout.body} question={top.question} />
      ) : (
        panes.map((pane) => {
          const height = layout.heights[pane.id] ?? 0;
          if (height === 0) return null;
          const Pane = pane.component;
          return (
            <Pane
              key={pane.id}
              height={height}
              focused={screen.focus === pane.id}
              scroll={screen.scroll[pane.id] ?? 0}
            />
          );
        })
      )}
      <Footer
        prompt={top?.kind === 'prompt' ? top : undefined}
        notice={notice}
        hints={hints({
          ...(top === undefined || top.kind === 'prompt' ? {} : { overlay: top.kind }),
          pane: screen.focus,
        })}
      />
    </Box>
  );
}
