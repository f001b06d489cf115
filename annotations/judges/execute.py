"""Running one chunk of a judge run: ask what is not cached, store every answer as it
arrives, then make the chunk's judgements from the stored answers.

Safe to run twice: answers are unique per (ask key, criterion, item, order, sample), so a
requeued chunk (a worker killed mid-run) finds what was stored and asks only what was in
flight; judgements are replaced per (rater, criterion, item) in one transaction; the chunk's
counts are overwritten, never added to.

One attempt at a time: a claim adds one to the chunk's `attempts` and only that attempt may
beat its heartbeat or end it. A chunk whose heartbeat stopped is queued again by the reaper
(`recovery`); a worker that finds its chunk taken over stops at its next heartbeat.
"""

import logging
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, Sum
from django.utils import timezone

from annotations.judges import judging, services, structured
from annotations.judges.checker import check_answer
from annotations.judges.context import Request, prompt_context, requests_for
from annotations.judges.models import JudgeAnswer, JudgeRun, JudgeRunChunk
from annotations.judges.pricing import price_for
from annotations.judges.providers import Completion, ProviderError, ProviderSettings, client_for
from annotations.judges.ratelimit import limit_key, limiter_for
from annotations.judges.templates import built_ins, render
from annotations.models import Item, Step

logger = logging.getLogger(__name__)
CHECK_EVERY_S = 0.5  # how often a chunk looks for a cancel or the cost cap
HEARTBEAT_EVERY_S = 5.0  # well under JUDGE_CHUNK_STALE_S, after which the reaper requeues


class RunStopped(Exception):
    """The run was cancelled, failed elsewhere or reached its cost cap."""


class ProviderRefused(Exception):
    """A request the provider will never accept (400, auth): the run fails at once."""


class ChunkLost(Exception):
    """Another attempt owns the chunk now (this one's heartbeat was late): stop, write nothing."""


@dataclass
class Heartbeat:
    """This attempt's proof of life, written at most every HEARTBEAT_EVERY_S."""

    chunk_id: int
    attempt: int
    sent_at: float = field(default_factory=time.monotonic)

    def beat(self) -> None:
        if time.monotonic() - self.sent_at < HEARTBEAT_EVERY_S:
            return
        self.sent_at = time.monotonic()
        mine = JudgeRunChunk.objects.filter(
            pk=self.chunk_id, attempts=self.attempt, status=JudgeRun.Status.RUNNING
        )
        if not mine.update(heartbeat_at=timezone.now()):
            raise ChunkLost(f"chunk {self.chunk_id}: attempt {self.attempt} was taken over")


@dataclass
class Counts:
    items: int = 0
    judged: int = 0
    cached: int = 0
    asked: int = 0
    unparsed: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0


@dataclass
class Job:
    """One request to make: the item, the presentation order and sample, the prompt."""

    item: Item
    request: Request
    system: str
    prompt: str


@dataclass
class ChunkWork:
    run: JudgeRun
    heartbeat: Heartbeat
    items: list[Item]
    steps: dict[int, list[str]]
    step_ids: dict[int, dict[int, int]]  # item -> step index -> step pk
    stored: set[tuple[int, str, int]] = field(default_factory=set)  # answer keys in the cache
    counts: Counts = field(default_factory=Counts)


def _claim(chunk_id: int, redelivered: bool) -> JudgeRunChunk | None:
    """Take the chunk for a new attempt, or None when it is not this message's to take.

    A redelivered message takes a running chunk only once its heartbeat has stopped: Redis
    redelivers a message that stayed unacknowledged past the visibility timeout even when
    its worker is alive and still asking (a chunk may run for hours), and two attempts at
    once would pay twice for every request.
    """
    now = timezone.now()
    claimable = Q(status=JudgeRun.Status.PENDING)
    if redelivered:
        stale = now - timedelta(seconds=settings.JUDGE_CHUNK_STALE_S)
        claimable |= Q(status=JudgeRun.Status.RUNNING) & (
            Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)
        )
    seen = JudgeRunChunk.objects.filter(pk=chunk_id).values_list("attempts", flat=True).first()
    # Conditional on the attempt seen: of two messages claiming at once, one wins.
    claimed = JudgeRunChunk.objects.filter(claimable, pk=chunk_id, attempts=seen).update(
        status=JudgeRun.Status.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now
    )
    if not claimed:
        return None
    return JudgeRunChunk.objects.select_related(
        "run__config__project", "run__config__rater", "run__criterion"
    ).get(pk=chunk_id)


def judge_chunk_run(*, chunk_id: int, redelivered: bool = False) -> None:
    """Judge one chunk of a run (the Celery task's body)."""
    chunk = _claim(chunk_id, redelivered)
    if chunk is None:
        logger.info("judge chunk %s is not claimable; nothing to do", chunk_id)
        return
    run = chunk.run
    JudgeRun.objects.filter(pk=run.pk, status=JudgeRun.Status.PENDING).update(
        status=JudgeRun.Status.RUNNING, started_at=timezone.now()
    )
    work = _work(run, chunk)
    status = JudgeRun.Status.DONE
    try:
        _still_running(run)
        _ask_missing(work)
        _judge(work)
    except ChunkLost as exc:
        logger.warning("judge %s; stopping, the new attempt finishes it", exc)
        return
    except RunStopped:
        status = JudgeRun.Status.CANCELLED
    except ProviderRefused as exc:
        status = JudgeRun.Status.FAILED
        JudgeRun.objects.filter(
            pk=run.pk, status__in=[JudgeRun.Status.PENDING, JudgeRun.Status.RUNNING]
        ).update(status=JudgeRun.Status.FAILED, error=str(exc)[:2000], stop_reason="error")
    JudgeRunChunk.objects.filter(pk=chunk.pk, attempts=chunk.attempts).update(
        status=status, counts=asdict(work.counts)
    )
    _finish(run)


def _work(run: JudgeRun, chunk: JudgeRunChunk) -> ChunkWork:
    item_ids = chunk.item_ids
    items = list(Item.objects.filter(pk__in=item_ids).order_by("pk"))
    steps: dict[int, list[str]] = {item.pk: [] for item in items}
    step_ids: dict[int, dict[int, int]] = {item.pk: {} for item in items}
    rows = Step.objects.filter(item_id__in=item_ids).order_by("item_id", "index")
    for pk, item_id, index, text in rows.values_list("pk", "item_id", "index", "text"):
        steps[item_id].append(text)
        step_ids[item_id][index] = pk
    heartbeat = Heartbeat(chunk_id=chunk.pk, attempt=chunk.attempts)
    work = ChunkWork(run=run, heartbeat=heartbeat, items=items, steps=steps, step_ids=step_ids)
    work.counts.items = len(items)
    # Only which answers exist: their texts are read when judging (a cached rerun used to
    # load every prompt and answer of the chunk here, then again there).
    answers = JudgeAnswer.objects.filter(
        ask_key=run.config.ask_key, criterion=run.criterion, item_id__in=item_ids
    )
    work.stored = set(answers.values_list("item_id", "order", "sample"))
    return work


def _requests(work: ChunkWork) -> list[tuple[Item, Request]]:
    config = work.run.config
    both = config.parameters.get("both_orders", built_ins()[config.template].asks_both_orders)
    samples = config.parameters.get("samples", 1)
    return [
        (item, request)
        for item in work.items
        for request in requests_for(kind=item.kind, both_orders=both, samples=samples)
    ]


def _job(work: ChunkWork, item: Item, request: Request) -> Job:
    config = work.run.config
    context = prompt_context(
        item=item,
        steps=work.steps[item.pk],
        criterion=work.run.criterion,
        order=request.order,
        guidelines=config.project.guidelines,
    )
    system = render(config.system_text, context) if config.system_text else ""
    prompt = render(config.template_text, context) if config.template_text else ""
    return Job(item, request, system, prompt)


def _still_running(run: JudgeRun) -> float:
    """What the run has spent so far; RunStopped when it was cancelled or failed, or its
    cost reached the cap."""
    current = JudgeRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    if current not in (JudgeRun.Status.PENDING, JudgeRun.Status.RUNNING):
        raise RunStopped(current)
    spent = JudgeAnswer.objects.filter(run=run).aggregate(c=Sum("cost"))["c"] or 0.0
    _cap_check(run, spent)
    return spent


def _cap_check(run: JudgeRun, spent: float) -> None:
    if run.cost_cap is not None and spent >= run.cost_cap:
        JudgeRun.objects.filter(pk=run.pk, status=JudgeRun.Status.RUNNING).update(
            status=JudgeRun.Status.CANCELLED, stop_reason=f"cost cap ${run.cost_cap:g} reached"
        )
        raise RunStopped("cost cap")


def _ask_missing(work: ChunkWork) -> None:
    missing = []
    for item, request in _requests(work):
        if (item.pk, request.order, request.sample) in work.stored:
            work.counts.cached += 1
        else:
            missing.append((item, request))
    if not missing:
        return
    if work.run.config.provider == "checker":
        _check_answers(work, missing)
    else:
        _ask_model(work, missing)


def _store(work: ChunkWork, answered: list[tuple[Job, Completion, float]]) -> None:
    """Store answers (job, completion, cost) in one INSERT: those that arrived together. A
    conflict is another attempt of this chunk that stored the same answer first."""
    answers = [
        JudgeAnswer(
            ask_key=work.run.config.ask_key,
            config=work.run.config,
            criterion=work.run.criterion,
            item=job.item,
            order=job.request.order,
            sample=job.request.sample,
            run=work.run,
            system=job.system,
            prompt=job.prompt,
            raw=completion.text,
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            cost=cost,
            latency_ms=completion.latency_ms,
        )
        for job, completion, cost in answered
    ]
    JudgeAnswer.objects.bulk_create(answers, ignore_conflicts=True)
    counts = work.counts
    for job, completion, cost in answered:
        work.stored.add((job.item.pk, job.request.order, job.request.sample))
        counts.asked += 1
        counts.tokens_in += completion.tokens_in
        counts.tokens_out += completion.tokens_out
        counts.cost += cost


def _ask_model(work: ChunkWork, missing: list[tuple[Item, Request]]) -> None:
    """Ask with `concurrency` requests in flight (threads only wait on the network; this
    thread renders, stores and checks for a cancel or the cost cap)."""
    run, config = work.run, work.run.config
    client = client_for(
        ProviderSettings(
            provider=config.provider,
            model=config.model,
            base_url=config.base_url,
            api_key=os.environ.get(run.api_key_env, "") if run.api_key_env else "",
            timeout_s=settings.JUDGE_TIMEOUT_S,
            max_retries=settings.JUDGE_MAX_RETRIES,
        )
    )
    limiter = limiter_for(
        key=limit_key(provider=config.provider, base_url=config.base_url, model=config.model),
        rpm=config.requests_per_minute,
        tpm=config.tokens_per_minute,
    )
    price = price_for(config.model)
    request_parameters = {
        k: v for k, v in config.parameters.items() if k not in services.RUN_PARAMETERS
    }
    if config.parameters.get("structured"):
        parser = built_ins()[config.template].parser
        request_parameters |= structured.request_options(config.provider, parser)

    def ask(job: Job) -> Completion:
        most = request_parameters.get("max_tokens") or request_parameters.get(
            "max_completion_tokens", 512
        )
        budget = len(job.system + job.prompt) // 4 + most
        limiter.acquire(budget)
        return client.complete(system=job.system, prompt=job.prompt, parameters=request_parameters)

    pending = iter(missing)
    in_flight: dict[Future, Job] = {}
    checked_at = time.monotonic()
    # Spent by the whole run when last read, and by this chunk since: the cap is checked
    # after every answer (overshooting by at most the requests in flight), other chunks'
    # spending and a cancel every CHECK_EVERY_S.
    spent_before, spent_here_at_check = _still_running(run), 0.0
    with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
        try:
            while True:
                while len(in_flight) < config.concurrency:
                    nxt = next(pending, None)
                    if nxt is None:
                        break
                    job = _job(work, *nxt)
                    in_flight[pool.submit(ask, job)] = job
                if not in_flight:
                    return
                # A timeout, so slow replies do not hold back the heartbeat or a cancel.
                done, _ = wait(in_flight, timeout=CHECK_EVERY_S, return_when=FIRST_COMPLETED)
                _collect(work, [(in_flight.pop(future), future) for future in done], price)
                _cap_check(run, spent_before + work.counts.cost - spent_here_at_check)
                if time.monotonic() - checked_at > CHECK_EVERY_S:
                    spent_before, spent_here_at_check = _still_running(run), work.counts.cost
                    checked_at = time.monotonic()
                work.heartbeat.beat()
        finally:
            for future in in_flight:
                future.cancel()


def _collect(
    work: ChunkWork, finished: list[tuple[Job, Future]], price: tuple[float, float] | None
) -> None:
    """Store the answers of requests that finished together; then ProviderRefused if the
    provider refused one of them (the others' answers are kept)."""
    answered, refused = [], None
    for job, future in finished:
        try:
            completion = future.result()
        except ProviderError as exc:
            if not exc.transient:
                refused = refused or exc
                continue
            work.counts.failed += 1
            logger.warning(
                "judge run %s: a request failed after retries: %s", work.run.pk, exc.message
            )
            continue
        cost = 0.0
        if price is not None:
            cost = (completion.tokens_in * price[0] + completion.tokens_out * price[1]) / 1e6
        answered.append((job, completion, cost))
    if answered:
        _store(work, answered)
    if refused is not None:
        raise ProviderRefused(f"The provider refused a request: {refused.message}")


def _check_answers(work: ChunkWork, missing: list[tuple[Item, Request]]) -> None:
    """The answer checker: no model, no network; its "answer" is what it found."""
    for item, request in missing:
        work.heartbeat.beat()
        # The whole solution: its last \boxed{} is not always in the last step (a closing
        # remark may follow it), and the importer's references are read the same way.
        steps = work.steps[item.pk]
        solution = "\n".join(steps) if steps else (item.response or "")
        result = check_answer(solution_text=solution, reference=item.reference_answer or "")
        job = Job(item, request, "", f"check {result.answer!r} against {result.reference!r}")
        _store(work, [(job, Completion(result.as_answer(), 0, 0, 0, "math-verify"), 0.0)])


def _judge(work: ChunkWork) -> None:
    keys: dict[int, list[tuple[int, str, int]]] = {item.pk: [] for item in work.items}
    for item, request in _requests(work):
        keys[item.pk].append((item.pk, request.order, request.sample))
    targets = judging.Targets(work.items, work.steps, work.step_ids, keys)
    work.counts.judged, work.counts.unparsed = judging.judgements_write(
        run=work.run, targets=targets
    )


def _finish(run: JudgeRun) -> None:
    """The last chunk to end closes the run."""
    open_chunks = JudgeRunChunk.objects.filter(
        run=run, status__in=[JudgeRun.Status.PENDING, JudgeRun.Status.RUNNING]
    )
    if open_chunks.exists():
        return
    now = timezone.now()
    JudgeRun.objects.filter(pk=run.pk, status=JudgeRun.Status.RUNNING).update(
        status=JudgeRun.Status.DONE, finished_at=now
    )
    JudgeRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(finished_at=now)
