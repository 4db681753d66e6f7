/**
 * Webhook endpoints (admin): the list and a form to add one, which shows its signing secret once;
 * one endpoint's page: edit, enable / disable, rotate the secret (shown once), send a test, the
 * delivery log filtered by status and event type, and replay (every kept event since a time, or
 * chosen event ids).
 */
import { useQuery } from '@tanstack/preact-query';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ok, type Schemas } from '../../api/client.ts';
import { can } from '../../roles.ts';
import {
  ConfirmButton,
  Empty,
  ErrorNote,
  Field,
  fieldError,
  Loading,
  Pager,
  Select,
  Status,
  Time,
  Title,
  text,
  usePager,
} from '../../ui/kit.tsx';
import { useAction } from '../payouts/use-payout.ts';

type Endpoint = Schemas['WebhookEndpoint'];
type Delivery = Schemas['WebhookDelivery'];

/** "payout.* reward.created" (spaces or commas) → a list; empty → every event (null). */
function eventTypesOf(value: string | undefined): string[] | null {
  const types = (value ?? '').split(/[\s,]+/).filter(Boolean);
  return types.length ? types : null;
}

function Secret({ secret }: { secret: string }) {
  return (
    <div class="secret" role="status">
      <p>
        <strong>The signing secret, shown only now.</strong> Store it where your receiver verifies signatures;
        it cannot be read again (rotate it if it is lost).
      </p>
      <code>{secret}</code>
    </div>
  );
}

function EndpointFields({ endpoint, error }: { endpoint?: Endpoint | undefined; error: unknown }) {
  return (
    <>
      <Field
        label="URL (https)"
        name="url"
        id="hook-url"
        type="url"
        required
        defaultValue={endpoint?.url ?? ''}
        error={fieldError(error, 'url')}
      />
      <Field
        label="Description (optional)"
        name="description"
        id="hook-description"
        defaultValue={endpoint?.description ?? ''}
        error={fieldError(error, 'description')}
      />
      <Field
        label="Event types (optional)"
        name="eventTypes"
        id="hook-events"
        hint="Separated by spaces: payout.paid, a family such as payout.*; empty for every event."
        defaultValue={endpoint?.eventTypes?.join(' ') ?? ''}
        error={fieldError(error, 'eventTypes', 'eventTypes.0')}
      />
    </>
  );
}

function CreateEndpoint() {
  const [secret, setSecret] = useState<string>();
  const create = useAction((body: Schemas['CreateWebhookEndpoint']) =>
    ok(api().POST('/webhook-endpoints', { body })),
  );
  return (
    <section class="panel" aria-labelledby="new-hook">
      <h2 id="new-hook">Add an endpoint</h2>
      {secret && <Secret secret={secret} />}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const element = event.currentTarget;
          const form = new FormData(element);
          const description = text(form, 'description');
          create.mutate(
            {
              url: text(form, 'url') ?? '',
              ...(description ? { description } : {}),
              eventTypes: eventTypesOf(text(form, 'eventTypes')),
            },
            {
              onSuccess: (created) => {
                setSecret(created.secret);
                element.reset();
              },
            },
          );
        }}
      >
        <EndpointFields error={create.error} />
        <ErrorNote error={create.error} />
        <button type="submit" disabled={create.isPending}>
          Add endpoint
        </button>
      </form>
    </section>
  );
}

function endpointState(endpoint: Endpoint): string {
  if (endpoint.enabled) return endpoint.failingSince ? 'failing' : 'enabled';
  return 'disabled';
}

export function WebhooksScreen() {
  const pager = usePager();
  const endpoints = useQuery({
    queryKey: ['webhook-endpoints', pager.cursor],
    queryFn: () =>
      ok(
        api().GET('/webhook-endpoints', {
          params: { query: pager.query },
        }),
      ),
  });
  return (
    <>
      <Title>Webhooks</Title>
      {can('POST /webhook-endpoints') && <CreateEndpoint />}
      <section aria-labelledby="hooks">
        <h2 id="hooks">Endpoints</h2>
        <ErrorNote error={endpoints.error} />
        {endpoints.isPending ? (
          <Loading what="Loading endpoints" />
        ) : endpoints.data?.items.length === 0 ? (
          <Empty>No webhook endpoints yet.</Empty>
        ) : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Webhook endpoints</caption>
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">State</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {endpoints.data?.items.map((endpoint) => (
                  <tr key={endpoint.id}>
                    <td>
                      <a href={`/manage/webhooks/${endpoint.id}`}>{endpoint.url}</a>
                      {endpoint.description && <div class="muted">{endpoint.description}</div>}
                    </td>
                    <td>{endpoint.eventTypes?.join(', ') ?? 'Every event'}</td>
                    <td>
                      <Status status={endpointState(endpoint)} />
                    </td>
                    <td>
                      <Time at={endpoint.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager pager={pager} nextCursor={endpoints.data?.nextCursor} />
      </section>
    </>
  );
}

function EditEndpoint({ endpoint, onSecret }: { endpoint: Endpoint; onSecret: (secret: string) => void }) {
  const update = useAction((body: Schemas['UpdateWebhookEndpoint']) =>
    ok(
      api().PATCH('/webhook-endpoints/{id}', {
        params: { path: { id: endpoint.id } },
        body,
      }),
    ),
  );
  // The secret is handed over inside the mutation: the form is remade at the new version before a
  // per-call callback would run.
  const rotate = useAction(async () => {
    const rotated = await ok(
      api().POST('/webhook-endpoints/{id}/rotate-secret', {
        params: { path: { id: endpoint.id } },
        body: {},
      }),
    );
    onSecret(rotated.secret);
    return rotated;
  });
  const { route } = useLocation();
  const remove = useAction(async () => {
    await ok(api().DELETE('/webhook-endpoints/{id}', { params: { path: { id: endpoint.id } } }));
    route('/manage/webhooks');
  });
  return (
    <section class="panel" aria-labelledby="edit-hook">
      <h2 id="edit-hook">Endpoint</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          update.mutate({
            url: text(form, 'url') ?? '',
            description: text(form, 'description') ?? null,
            eventTypes: eventTypesOf(text(form, 'eventTypes')),
          });
        }}
      >
        <EndpointFields endpoint={endpoint} error={update.error} />
        <button type="submit" disabled={update.isPending}>
          Save endpoint
        </button>
      </form>
      <div class="actions">
        {endpoint.enabled ? (
          <button
            type="button"
            class="secondary"
            disabled={update.isPending}
            onClick={() => update.mutate({ enabled: false })}
          >
            Disable endpoint
          </button>
        ) : (
          <button type="button" disabled={update.isPending} onClick={() => update.mutate({ enabled: true })}>
            Enable endpoint
          </button>
        )}
        <ConfirmButton
          label="Rotate secret"
          title="Rotate the signing secret?"
          confirm="Rotate"
          busy={rotate.isPending}
          onConfirm={() => rotate.mutate(undefined)}
        >
          <p>For 24 hours every delivery carries both signatures, the old secret's and the new one's.</p>
        </ConfirmButton>
        <ConfirmButton
          label="Delete endpoint"
          title="Delete this endpoint?"
          confirm="Delete"
          danger
          busy={remove.isPending}
          onConfirm={() => remove.mutate(undefined)}
        >
          <p>Its queued deliveries are dropped.</p>
        </ConfirmButton>
      </div>
      <ErrorNote error={update.error ?? rotate.error ?? remove.error} />
    </section>
  );
}

function DeliveryRows({ deliveries }: { deliveries: Delivery[] }) {
  return (
    <tbody>
      {deliveries.map((delivery) => (
        <tr key={delivery.id}>
          <td>
            <Time at={delivery.at} />
          </td>
          <td>
            {delivery.eventType}
            <div class="muted">
              <code>{delivery.eventId}</code>
            </div>
          </td>
          <td class="num">{delivery.attempt}</td>
          <td>
            <Status status={delivery.status} />
            {delivery.replay && <span class="muted"> · replay</span>}
          </td>
          <td>
            {delivery.responseStatus ?? '—'}
            {delivery.durationMs !== undefined && <span class="muted"> · {delivery.durationMs} ms</span>}
            {delivery.error && <div class="muted">{delivery.error}</div>}
            {delivery.nextAttemptAt && (
              <div class="muted">
                next attempt <Time at={delivery.nextAttemptAt} />
              </div>
            )}
          </td>
        </tr>
      ))}
    </tbody>
  );
}

function Deliveries({ endpoint }: { endpoint: Endpoint }) {
  const pager = usePager();
  const [filters, setFilters] = useState<{ status?: Delivery['status']; eventType?: string }>({});
  const deliveries = useQuery({
    queryKey: ['webhook-deliveries', endpoint.id, filters, pager.cursor],
    queryFn: () =>
      ok(
        api().GET('/webhook-endpoints/{id}/deliveries', {
          params: {
            path: { id: endpoint.id },
            query: { ...filters, ...pager.query },
          },
        }),
      ),
  });
  const test = useAction(() =>
    ok(api().POST('/webhook-endpoints/{id}/test', { params: { path: { id: endpoint.id } }, body: {} })),
  );
  const replay = useAction((body: Schemas['ReplayWebhooks']) =>
    ok(api().POST('/webhook-endpoints/{id}/replay', { params: { path: { id: endpoint.id } }, body })),
  );
  return (
    <section aria-labelledby="deliveries">
      <h2 id="deliveries">Deliveries</h2>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          disabled={test.isPending}
          onClick={() => test.mutate(undefined)}
        >
          Send a test event
        </button>
      </div>
      {test.data && (
        <p role="status">
          Test sent: <Status status={test.data.status} />
          {test.data.responseStatus !== undefined && ` (HTTP ${test.data.responseStatus})`}
          {test.data.error && ` ${test.data.error}`}
        </p>
      )}
      <ErrorNote error={test.error} />
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const status = text(form, 'status') as Delivery['status'] | undefined;
          const eventType = text(form, 'eventType');
          pager.reset();
          setFilters({ ...(status ? { status } : {}), ...(eventType ? { eventType } : {}) });
        }}
      >
        <Select
          label="Status"
          name="status"
          id="delivery-status"
          options={[
            { value: '', label: 'Any status' },
            { value: 'delivered', label: 'Delivered' },
            { value: 'retrying', label: 'Retrying' },
            { value: 'failed', label: 'Failed' },
          ]}
        />
        <Field label="Event type" name="eventType" id="delivery-type" placeholder="payout.paid" />
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      <ErrorNote error={deliveries.error} />
      {deliveries.isPending ? (
        <Loading what="Loading deliveries" />
      ) : deliveries.data?.items.length === 0 ? (
        <Empty>No deliveries{filters.status || filters.eventType ? ' match these filters' : ' yet'}.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Delivery log</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col" class="num">
                  Attempt
                </th>
                <th scope="col">Status</th>
                <th scope="col">Response</th>
              </tr>
            </thead>
            <DeliveryRows deliveries={deliveries.data?.items ?? []} />
          </table>
        </div>
      )}
      <Pager pager={pager} nextCursor={deliveries.data?.nextCursor} />
      <form
        class="panel"
        aria-labelledby="replay-title"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const since = text(form, 'since');
          const ids = (text(form, 'eventIds') ?? '').split(/[\s,]+/).filter(Boolean);
          replay.mutate({
            ...(since ? { since: new Date(since).toISOString() } : {}),
            ...(ids.length ? { eventIds: ids } : {}),
          });
        }}
      >
        <h3 id="replay-title">Replay events</h3>
        <p class="hint">Re-sends them with their original webhook-id, so receivers can tell a replay.</p>
        <Field
          label="Every kept event since"
          name="since"
          id="replay-since"
          type="datetime-local"
          error={fieldError(replay.error, 'since')}
        />
        <Field
          label="Or these event ids"
          name="eventIds"
          id="replay-ids"
          hint="Separated by spaces."
          error={fieldError(replay.error, 'eventIds')}
        />
        <ErrorNote error={replay.error} />
        {replay.data && <p role="status">{replay.data.events} events queued for replay.</p>}
        <button type="submit" disabled={replay.isPending}>
          Replay
        </button>
      </form>
    </section>
  );
}

export function WebhookDetail({ id }: { id: string }) {
  const endpoint = useQuery({
    queryKey: ['webhook-endpoint', id],
    queryFn: () => ok(api().GET('/webhook-endpoints/{id}', { params: { path: { id } } })),
  });
  const data = endpoint.data;
  // Outside the form, which is remade at each new version: the rotated secret stays shown.
  const [secret, setSecret] = useState<string>();
  return (
    <>
      <Title>{data ? `Webhook ${data.url}` : 'Webhook'}</Title>
      {secret && <Secret secret={secret} />}
      <p>
        <a href="/manage/webhooks">All endpoints</a>
      </p>
      <ErrorNote error={endpoint.error} />
      {endpoint.isPending && <Loading what="Loading the endpoint" />}
      {data && (
        <>
          <dl class="facts">
            <div>
              <dt>State</dt>
              <dd>
                <Status status={endpointState(data)} />
                {data.disabledReason && <span class="muted"> ({data.disabledReason})</span>}
              </dd>
            </div>
            {data.failingSince && (
              <div>
                <dt>Failing since</dt>
                <dd>
                  <Time at={data.failingSince} />
                </dd>
              </div>
            )}
            {data.previousSecretExpiresAt && (
              <div>
                <dt>Old secret valid until</dt>
                <dd>
                  <Time at={data.previousSecretExpiresAt} />
                </dd>
              </div>
            )}
          </dl>
          <EditEndpoint key={data.version} endpoint={data} onSecret={setSecret} />
          <Deliveries endpoint={data} />
        </>
      )}
    </>
  );
}
