//! Request chains: each session's and each subagent's requests in the order they were sent,
//! with when each was sent, got through and ended, what it carried, and how it ended.
//!
//! A stream (a session, or one subagent) sends one request at a time: request, response,
//! tool and user time, next request. The time between a response's end and the next request
//! (the gap) does not depend on max output; the response's duration does. Throttled
//! attempts belong to the request they delayed, not to the gap: a request is sent at its
//! first attempt and gets through after its last retry.
//!
//! Times come from the records: a request is sent when the last user line before its
//! response was written (a prompt, a tool result, a recovery prompt), gets through after the
//! last retry line before it (its time plus `retryInMs`), and ends with its response's last
//! line. Where a record is missing the times are estimated, never placed before the previous
//! request's end.

use foldhash::HashMap;
use foldhash::HashMapExt;

use super::retries;
use crate::scan::classify::ErrorKind;
use crate::scan::data::{Count, Event, EventKind, Origin, Place, Response};
use crate::scan::key::Name;
use crate::time::EpochMs;

/// Assumed time to the first token when no record tells when a request was sent.
pub const DEFAULT_FIRST_TOKEN_MS: i64 = 2_000;
/// Assumed output speed where none can be measured: about 60 tokens a second.
pub const DEFAULT_MS_PER_TOKEN: f64 = 16.0;

/// How a request ended in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// A response came back (cut or not).
    Response,
    /// Refused on every attempt: a throttling 429 that failed for good.
    Throttled,
    /// An "exceeded the N output token maximum" error with no response record before it (the
    /// response was cut at N and not kept).
    CutError,
}

/// One request of a chain (its model and session borrowed from [`Places`], a pointer each:
/// every request of a team's history is held until its plan is made, so it is kept in 56
/// bytes).
///
/// Its token counts are held in 32 bits: the selection keeps no response with more input
/// than [`crate::models::MAX_INPUT_TOKENS`] or more output than a model allows, nor a limit
/// above [`crate::models::MAX_OUTPUT_LIMIT`], so every count the chains are made from fits
/// (each a [`Count`]; a larger one, which only a test can set, is held as `u32::MAX`). How it
/// ended, its flags and its throttled attempts share one word (`Marks`); its times are when it
/// was sent and two spans after that (`Span`).
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    /// The model id as recorded; `None` for a request that never got a response (taken from
    /// the stream's neighbours where there are some).
    model: Option<&'a Name>,
    session: Option<&'a Name>,
    /// Sent: its first attempt ([`Request::start`]).
    sent: EpochMs,
    /// [`Request::admitted`] and [`Request::end`], in milliseconds after `sent` ([`Span`]).
    span: Span,
    /// Input charged ([`Request::input`]).
    input: Count,
    cache_read: Count,
    /// Output tokens written ([`Request::output`]).
    output: Count,
    /// The limit a record names for the cut ([`Request::cut_limit`]), when marked.
    cut_limit: Count,
    /// Of its output, thinking ([`Request::thinking`]), when marked: in 32 bits, as the
    /// response holds it ([`crate::scan::data::Tokens::thinking`]).
    thinking: Count,
    marks: Marks,
}

const _: () = assert!(std::mem::size_of::<Request>() <= 56);

/// When a request got through and when it ended, in milliseconds after it was sent, 32 bits
/// each: up to 49 days. Each is at least 0 and the end at least the admission, as the chains
/// make them (a request is admitted after it is sent and ends after that); a longer span (a
/// response's last line weeks after its request, which only a broken clock writes) is held as
/// the longest.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    admitted: u32,
    end: u32,
}

impl Span {
    fn of(sent: EpochMs, admitted: EpochMs, end: EpochMs) -> Self {
        let after = |t: EpochMs| u32::try_from(t.saturating_sub(sent).max(0)).unwrap_or(u32::MAX);
        let admitted = after(admitted);
        Span { admitted, end: after(end).max(admitted) }
    }
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "+{} ms, +{} ms", self.admitted, self.end)
    }
}

/// How a request ended, its flags and its throttled attempts, in 32 bits: the flags in the
/// low [`Marks::COUNT_SHIFT`] bits, the count above them. The count is held up to
/// [`Marks::MAX_THROTTLED`] (each throttled attempt is a record of its own before the
/// request, so a larger count is a history of millions of records for one request); a larger
/// one is held as that.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Marks(u32);

impl Marks {
    const ESTIMATED: u32 = 1;
    const CUT: u32 = 1 << 1;
    const CONTINUES: u32 = 1 << 2;
    const GAVE_UP: u32 = 1 << 3;
    const SETTING_IGNORED: u32 = 1 << 4;
    const HAS_CUT_LIMIT: u32 = 1 << 5;
    const HAS_THINKING: u32 = 1 << 6;
    /// [`Ended`] in two bits.
    const ENDED_SHIFT: u32 = 7;
    const ENDED: u32 = 0b11 << Self::ENDED_SHIFT;
    const COUNT_SHIFT: u32 = 9;
    const MAX_THROTTLED: u32 = u32::MAX >> Self::COUNT_SHIFT;

    /// A request's marks: how it ended, its throttled attempts, no flag.
    fn of(ended: Ended, throttled: u32) -> Self {
        let mut m = Marks(0);
        m.set_ended(ended);
        m.set_throttled(throttled);
        m
    }

    fn with(mut self, flag: u32, on: bool) -> Self {
        self.set(flag, on);
        self
    }

    fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }

    fn set(&mut self, flag: u32, on: bool) {
        self.0 = if on { self.0 | flag } else { self.0 & !flag };
    }

    fn ended(self) -> Ended {
        match (self.0 & Self::ENDED) >> Self::ENDED_SHIFT {
            0 => Ended::Response,
            1 => Ended::Throttled,
            _ => Ended::CutError,
        }
    }

    fn set_ended(&mut self, ended: Ended) {
        let bits = match ended {
            Ended::Response => 0,
            Ended::Throttled => 1,
            Ended::CutError => 2,
        };
        self.0 = (self.0 & !Self::ENDED) | (bits << Self::ENDED_SHIFT);
    }

    fn throttled(self) -> u32 {
        self.0 >> Self::COUNT_SHIFT
    }

    fn set_throttled(&mut self, n: u32) {
        self.0 = (self.0 & ((1 << Self::COUNT_SHIFT) - 1)) | (n.min(Self::MAX_THROTTLED) << Self::COUNT_SHIFT);
    }
}

impl std::fmt::Debug for Marks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Marks")
            .field("ended", &self.ended())
            .field("throttled", &self.throttled())
            .field("flags", &format_args!("{:#09b}", self.0 & ((1 << Self::ENDED_SHIFT) - 1)))
            .finish()
    }
}

impl<'a> Request<'a> {
    /// Sent: its first attempt.
    pub fn start(&self) -> EpochMs {
        self.sent
    }

    /// Its last attempt, the one that got through (`start` when none was refused; `end` for
    /// a request that never got through).
    pub fn admitted(&self) -> EpochMs {
        self.sent.saturating_add(i64::from(self.span.admitted))
    }

    /// The response's last line, or the final error's time.
    pub fn end(&self) -> EpochMs {
        self.sent.saturating_add(i64::from(self.span.end))
    }

    /// Sets its times (`Span`: the admission and the end taken no earlier than the sending).
    pub fn set_times(&mut self, start: EpochMs, admitted: EpochMs, end: EpochMs) {
        (self.sent, self.span) = (start, Span::of(start, admitted, end));
    }

    /// The limit a record names for the cut: the N of an "exceeded" error, or the output of a
    /// response that stopped at `max_tokens`.
    pub fn cut_limit(&self) -> Option<u64> {
        self.marks.has(Marks::HAS_CUT_LIMIT).then_some(self.cut_limit.get())
    }

    pub fn set_cut_limit(&mut self, limit: Option<u64>) {
        self.marks.set(Marks::HAS_CUT_LIMIT, limit.is_some());
        self.cut_limit = Count::new(limit.unwrap_or(0));
    }

    /// How it ended in the history.
    pub fn ended(&self) -> Ended {
        self.marks.ended()
    }

    pub fn set_ended(&mut self, ended: Ended) {
        self.marks.set_ended(ended);
    }

    /// Its output is an estimate (no usage recorded).
    pub fn estimated(&self) -> bool {
        self.marks.has(Marks::ESTIMATED)
    }

    #[cfg(test)]
    pub fn set_estimated(&mut self, estimated: bool) {
        self.marks.set(Marks::ESTIMATED, estimated);
    }

    /// Cut at the output limit: stopped at `max_tokens`, followed by a recovery prompt, or by
    /// an "exceeded" error.
    pub fn cut(&self) -> bool {
        self.marks.has(Marks::CUT)
    }

    pub fn set_cut(&mut self, cut: bool) {
        self.marks.set(Marks::CUT, cut);
    }

    /// Continues the previous request's cut response (after a recovery prompt).
    pub fn continues(&self) -> bool {
        self.marks.has(Marks::CONTINUES)
    }

    pub fn set_continues(&mut self, continues: bool) {
        self.marks.set(Marks::CONTINUES, continues);
    }

    /// The cut response this request belongs to ended in an "exceeded" error: Claude Code
    /// stopped continuing it.
    pub fn gave_up(&self) -> bool {
        self.marks.has(Marks::GAVE_UP)
    }

    pub fn set_gave_up(&mut self, gave_up: bool) {
        self.marks.set(Marks::GAVE_UP, gave_up);
    }

    /// A subagent's request of a Claude Code that applied the max output setting to the main
    /// session only ([`super::limits::SUBAGENTS_FOLLOW_SETTING_SINCE`]): it ran at the
    /// model's default, whatever the setting.
    pub fn setting_ignored(&self) -> bool {
        self.marks.has(Marks::SETTING_IGNORED)
    }

    pub fn set_setting_ignored(&mut self, ignored: bool) {
        self.marks.set(Marks::SETTING_IGNORED, ignored);
    }

    /// Throttling 429s on its attempts (retried ones, and the last one if it failed).
    pub fn throttled(&self) -> u32 {
        self.marks.throttled()
    }

    pub fn set_throttled(&mut self, n: u32) {
        self.marks.set_throttled(n);
    }

    /// Input charged: input plus cache-write tokens.
    pub fn input(&self) -> u64 {
        self.input.get()
    }

    pub fn cache_read(&self) -> u64 {
        self.cache_read.get()
    }

    /// [`Request::input`] and [`Request::cache_read`] as held, for a plan's job.
    pub(super) fn input_counts(&self) -> (Count, Count) {
        (self.input, self.cache_read)
    }

    /// Output tokens written (measured or estimated; 0 when no response was kept).
    pub fn output(&self) -> u64 {
        self.output.get()
    }

    /// The request with these token counts, as tests build them.
    #[cfg(test)]
    pub fn with_tokens(mut self, input: u64, cache_read: u64, output: u64) -> Self {
        (self.input, self.cache_read, self.output) = (Count::new(input), Count::new(cache_read), Count::new(output));
        self
    }

    /// Of its output, thinking, where the usage says.
    pub fn thinking(&self) -> Option<u64> {
        self.marks.has(Marks::HAS_THINKING).then_some(self.thinking.get())
    }

    /// The model id as recorded; `None` for a request that never got a response (taken from
    /// the stream's neighbours where there are some).
    pub fn model(&self) -> Option<&'a str> {
        self.model.map(|m| &**m)
    }

    pub fn session(&self) -> Option<&'a str> {
        self.session.map(|s| &**s)
    }

    /// The request changed by `f`, as tests build them.
    #[cfg(test)]
    pub fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }

    /// The request with another model, as tests build them.
    #[cfg(test)]
    pub fn with_model(mut self, model: Option<&str>) -> Self {
        self.model = model.map(test_name);
        self
    }

    #[cfg(test)]
    pub fn with_session(mut self, session: Option<&str>) -> Self {
        self.session = session.map(test_name);
        self
    }

    #[cfg(test)]
    pub fn with_cut_limit(mut self, limit: Option<u64>) -> Self {
        self.set_cut_limit(limit);
        self
    }

    /// A request of `model` sent at `start` and answered in full at `end`, nothing else
    /// recorded: the base the unit tests change what they test from.
    #[cfg(test)]
    pub fn answered(model: &str, start: EpochMs, end: EpochMs) -> Self {
        Request {
            model: Some(test_name(model)),
            session: None,
            sent: start,
            span: Span::of(start, start, end),
            input: Count::default(),
            cache_read: Count::default(),
            output: Count::default(),
            cut_limit: Count::default(),
            thinking: Count::default(),
            marks: Marks::default(),
        }
    }

    /// How long its last attempt took to answer.
    pub fn duration(&self) -> i64 {
        i64::from(self.span.end - self.span.admitted)
    }
}

/// A name that lives as long as the tests do (for requests built by hand).
#[cfg(test)]
pub fn test_name(name: &str) -> &'static Name {
    Box::leak(Box::new(Name::from(name)))
}

/// The requests of one stream, in order.
///
/// Its stream, project folder and working directory are its first record's, held here (a
/// name is a pointer to a string its records share), not by reference to that record's
/// place: the places are given back with the responses as the chains are made, where a
/// reference held each (a team's telemetry has a place a stream and model, held with a list
/// and an index of them: as many places as chains, or more).
#[derive(Debug, Clone, PartialEq)]
pub struct Chain<'a> {
    stream: Name,
    project: Name,
    cwd: Option<Name>,
    telemetry: bool,
    pub requests: Vec<Request<'a>>,
}

const _: () = assert!(std::mem::size_of::<Chain>() == 56);

impl<'a> Chain<'a> {
    /// The chain of `requests`, whose first record is of `place`.
    pub fn new(place: &Place, requests: Vec<Request<'a>>) -> Self {
        Chain {
            stream: place.stream.clone(),
            project: place.project.clone(),
            cwd: place.cwd.clone(),
            telemetry: place.telemetry,
            requests,
        }
    }

    /// The session id, or `agent:<id>` for a subagent.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Its project folder (its first record's).
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Its working directory (its first record's).
    pub fn cwd(&self) -> Option<&str> {
        self.cwd.as_deref()
    }

    /// Its records are telemetry's ([`crate::scan::data::Place::telemetry`]).
    pub fn telemetry(&self) -> bool {
        self.telemetry
    }

    /// A chain of a place made of these names, for tests (the place is leaked, as a
    /// `'static` chain's must live to the end).
    #[cfg(test)]
    pub(crate) fn of_test(
        stream: &'static str,
        project: &'static str,
        cwd: Option<&'static str>,
        telemetry: bool,
        requests: Vec<Request<'static>>,
    ) -> Chain<'static> {
        Chain { stream: stream.into(), project: project.into(), cwd: cwd.map(Into::into), telemetry, requests }
    }
}

/// What a stream's records say, in time order: a response by its place in the list the
/// chains are made from ([`Source`]), an event by reference.
enum Item<'r> {
    Response(u32),
    /// A final error: its kind is its event's ([`EventKind::Final`]), so that an item is a
    /// pointer and its tag.
    Final(&'r Event),
    Retry(&'r Event),
    Recovery(&'r Event),
}

const _: () = assert!(std::mem::size_of::<Item<'static>>() == 16);

impl<'r> Item<'r> {
    fn origin<'s, S: Source + ?Sized>(&self, responses: &'s S) -> &'s Origin
    where
        'r: 's,
    {
        match self {
            Item::Response(i) => &responses.get(*i).origin,
            Item::Final(e) | Item::Retry(e) | Item::Recovery(e) => &e.origin,
        }
    }

    /// At equal times: a response's first line before what follows it.
    fn order(&self) -> u8 {
        match self {
            Item::Response(_) => 0,
            Item::Recovery(_) => 1,
            Item::Final(_) => 2,
            Item::Retry(_) => 3,
        }
    }
}

/// The list the chains' responses are read from, by place.
trait Source: Sync {
    fn get(&self, i: u32) -> &Response;
}

impl Source for [&Response] {
    fn get(&self, i: u32) -> &Response {
        self[i as usize]
    }
}

impl Source for [Response] {
    fn get(&self, i: u32) -> &Response {
        &self[i as usize]
    }
}

/// The responses the chains are made of.
pub enum Stock<'r> {
    /// Borrowed, in scan order.
    Borrowed(Vec<&'r Response>),
    /// A scan's own, given back from the end of the list as the chains are made: `scoped`
    /// names those in scope, in scan order (the rest are given back first).
    Owned { all: Vec<Response>, scoped: Vec<u32> },
}

/// The model and session the records' places name, each pair held once (clones of the
/// places' names), so that the requests borrow them from here and not from the responses,
/// which are given back as the chains are made. A team's places are one a stream and model,
/// its pairs one a session and model: the places themselves go with their responses.
#[derive(Debug, Default)]
pub struct Places {
    pairs: Vec<(Name, Option<Name>)>,
    /// Each pair's index in `pairs`, by the addresses of its strings (a name's clones share
    /// one).
    index: HashMap<(usize, usize), u32>,
}

impl Places {
    /// The pairs of these responses' and events' places.
    pub fn of(responses: &[&Response], events: &[&Event]) -> Self {
        let mut places = Places::default();
        // A stream's records come in runs of one place.
        let mut last = std::ptr::null();
        for o in responses.iter().map(|r| &r.origin).chain(events.iter().map(|e| &e.origin)) {
            let at = std::sync::Arc::as_ptr(&o.place);
            if at != last {
                last = at;
                let pairs = &mut places.pairs;
                places.index.entry(Self::key(&o.place)).or_insert_with(|| {
                    pairs.push((o.place.model.clone(), o.place.session.clone()));
                    (pairs.len() - 1) as u32
                });
            }
        }
        places.pairs.shrink_to_fit();
        places
    }

    fn key(place: &Place) -> (usize, usize) {
        (place.model.as_ptr() as usize, place.session.as_ref().map_or(0, |s| s.as_ptr() as usize))
    }

    /// The model and session held for those of `place`, which must be one [`Places::of`] was
    /// given.
    fn get(&self, place: &Place) -> (&Name, Option<&Name>) {
        let (model, session) = &self.pairs[self.index[&Self::key(place)] as usize];
        (model, session.as_ref())
    }
}

/// One stream's records before they are put in time order.
struct Stream<'e> {
    /// Its earliest record's time: the streams are made in this order.
    first: EpochMs,
    /// Its responses in scan order: where they are in the list ([`Stock::Borrowed`]), or
    /// (`Stock::Owned`) their place in it before it is laid out, then none but `range`.
    responses: Vec<u32>,
    range: std::ops::Range<u32>,
    /// Its events, each as the item it makes.
    events: Vec<Item<'e>>,
}

/// Builds the chains of every stream from the responses and events in scope (all models),
/// their names borrowed from `places` (made of the same records). Records without a time
/// cannot be placed and are left out.
///
/// Owned responses are given back as the chains are made: laid out first with the stream made
/// first at the end of the list, each stream's together, then the list cut short after each
/// few streams, so that the responses (64 bytes each) and the chains' requests (72) are not
/// all held at once. The streams are made in time order either way (the plan frees the chains'
/// requests in that order, and each thread's requests then lie in memory in it).
pub fn build<'a>(stock: Stock<'_>, events: &[&Event], places: &'a Places) -> Vec<Chain<'a>> {
    /// Responses made into chains between two cuts of the list, at least.
    const BATCH: usize = 16_384;
    build_in(stock, events, places, BATCH)
}

/// [`build`], the list cut after each `batch` responses or so.
fn build_in<'a>(stock: Stock<'_>, events: &[&Event], places: &'a Places, batch: usize) -> Vec<Chain<'a>> {
    let mut chains = match stock {
        Stock::Borrowed(refs) => {
            let mut streams = streams_of(refs.as_slice(), (0..refs.len() as u32).collect(), events);
            // Half of them on another thread.
            let half = streams.split_off(streams.len() / 2);
            let (theirs, mut chains) = crate::par::join(
                || half.into_iter().filter_map(|s| chain_of(s, refs.as_slice(), places)).collect::<Vec<_>>(),
                || streams.into_iter().filter_map(|s| chain_of(s, refs.as_slice(), places)).collect::<Vec<Chain>>(),
            );
            // Room for the other half only (`extend` would double the list).
            chains.reserve_exact(theirs.len());
            chains.extend(theirs);
            chains
        }
        Stock::Owned { mut all, scoped } => {
            let streams = streams_of(all.as_slice(), scoped, events);
            let streams = lay_out(&mut all, streams);
            from_the_end(all, streams, places, batch)
        }
    };
    // A fixed order (by first request, then name), whatever the order they were made in.
    chains.sort_by(|a, b| (a.requests[0].start(), a.stream()).cmp(&(b.requests[0].start(), b.stream())));
    fill_from_sessions(&mut chains);
    chains
}

/// The streams of the responses `scoped` names (by place in `responses`, in scan order) and
/// of `events`, each with its records in that order, earliest stream first.
fn streams_of<'e, S: Source + ?Sized>(responses: &S, scoped: Vec<u32>, events: &[&'e Event]) -> Vec<Stream<'e>> {
    /// The stream named `name` (made, first at `t`, when it is not yet).
    fn stream<'n, 'e>(
        index: &mut HashMap<&'n str, usize>,
        streams: &mut Vec<Stream<'e>>,
        name: &'n str,
        t: EpochMs,
    ) -> usize {
        *index.entry(name).or_insert_with(|| {
            streams.push(Stream { first: t, responses: Vec::new(), range: 0..0, events: Vec::new() });
            streams.len() - 1
        })
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut streams: Vec<Stream<'e>> = Vec::new();
    // A file's responses come together and share one stream string: one lookup per run.
    let mut run: Option<(&Name, usize)> = None;
    for i in scoped {
        let r = responses.get(i);
        let Some(t) = r.origin.time() else { continue };
        let k = match run {
            Some((s, k)) if Name::ptr_eq(s, &r.origin.place.stream) => k,
            _ => {
                let k = stream(&mut index, &mut streams, &r.origin.place.stream, t);
                run = Some((&r.origin.place.stream, k));
                k
            }
        };
        streams[k].responses.push(i);
        streams[k].first = streams[k].first.min(t);
    }
    for &e in events {
        let item = match e.kind {
            EventKind::Final(_) => Item::Final(e),
            EventKind::Retry(_) => Item::Retry(e),
            EventKind::RecoveryPrompt => Item::Recovery(e),
            // Told by its response's record, which the chain reads.
            EventKind::MaxTokensStop => continue,
        };
        let Some(t) = e.origin.time() else { continue };
        let k = stream(&mut index, &mut streams, &e.origin.place.stream, t);
        streams[k].events.push(item);
        streams[k].first = streams[k].first.min(t);
    }
    drop(index);
    // By their first record, so that the chains' requests lie in memory about in the order
    // the plan frees them (`replay::Plan::new`). In a hash map's order, each page held
    // requests of chains far apart in time, and no page came free until the plan was almost
    // made.
    streams.sort_by_key(|s| s.first);
    streams
}

/// Lays `all` out for [`from_the_end`]: the responses of no stream (out of scope, or without
/// a time) last, then the earliest stream's, then the next one's before them, each stream's
/// in scan order, and gives each stream its `range` there.
fn lay_out<'e>(all: &mut [Response], mut streams: Vec<Stream<'e>>) -> Vec<Stream<'e>> {
    let n = all.len();
    // Where each response goes: `from[new] = old`.
    let mut from: Vec<u32> = Vec::with_capacity(n);
    let mut placed = vec![false; n];
    for st in &streams {
        for &i in &st.responses {
            placed[i as usize] = true;
        }
    }
    let mut end = streams.iter().map(|s| s.responses.len()).sum::<usize>();
    for st in &mut streams {
        let len = st.responses.len();
        st.range = (end - len) as u32..end as u32;
        end -= len;
    }
    // Filled from the front: the latest stream first.
    for st in streams.iter_mut().rev() {
        from.extend_from_slice(&st.responses);
        st.responses = Vec::new();
    }
    from.extend((0..n as u32).filter(|&i| !placed[i as usize]));
    drop(placed);
    crate::memory::permute(all, from);
    streams
}

/// The chains of `streams` laid out in `all` ([`lay_out`]), made from the end of the list a
/// few streams at a time (each few split between two threads), the list cut short after each.
fn from_the_end<'a>(
    mut all: Vec<Response>,
    streams: Vec<Stream<'_>>,
    places: &'a Places,
    batch_size: usize,
) -> Vec<Chain<'a>> {
    // The responses of no stream go first.
    all.truncate(streams.iter().map(|s| s.range.end as usize).max().unwrap_or(0));
    let mut chains: Vec<Chain<'a>> = Vec::with_capacity(streams.len());
    let mut streams = streams.into_iter().peekable();
    let mut freeing = crate::memory::Freeing::default();
    while streams.peek().is_some() {
        let mut batch = Vec::new();
        let mut responses = 0;
        while responses < batch_size
            && let Some(s) = streams.next()
        {
            responses += s.range.len();
            batch.push(s);
        }
        let cut = batch.iter().map(|s| s.range.start as usize).min().unwrap_or(all.len());
        let later = batch.split_off(batch.len() / 2);
        let list = all.as_slice();
        let (theirs, mine) = crate::par::join(
            || later.into_iter().filter_map(|s| chain_of(s, list, places)).collect::<Vec<_>>(),
            || batch.into_iter().filter_map(|s| chain_of(s, list, places)).collect::<Vec<Chain>>(),
        );
        chains.extend(mine);
        chains.extend(theirs);
        freeing.truncate(&mut all, cut);
    }
    chains
}

/// The chain of one stream's records, `None` when they make no request.
fn chain_of<'a, S: Source + ?Sized>(st: Stream<'_>, responses: &S, places: &'a Places) -> Option<Chain<'a>> {
    // Its responses: listed, or where they were laid out (one of the two is empty).
    let ids = st.responses.iter().copied().chain(st.range.clone());
    // Sort keys worked out once per item, not once per comparison.
    let mut keyed: Vec<(EpochMs, u8, Item)> = Vec::with_capacity(st.responses.len() + st.range.len() + st.events.len());
    for i in ids {
        keyed.push((responses.get(i).origin.time().unwrap_or_default(), 0, Item::Response(i)));
    }
    for item in st.events {
        keyed.push((item.origin(responses).time().unwrap_or_default(), item.order(), item));
    }
    keyed.sort_unstable_by_key(|k| (k.0, k.1));
    let items: Vec<Item> = keyed.into_iter().map(|k| k.2).collect();
    let mut requests = requests_of(&items, responses, places);
    fill_models(&mut requests);
    // Its stream (every record of it names the same), folder and working directory: its
    // first record's.
    let first = &items.first()?.origin(responses).place;
    (!requests.is_empty()).then_some(Chain::new(first, requests))
}

/// A stream that got no response at all (a subagent refused until it failed) takes the model
/// its session used most: its requests count for the model they were most likely sent to,
/// whatever other models the history (or a team's) holds, instead of for no model.
fn fill_from_sessions(chains: &mut [Chain<'_>]) {
    if chains.iter().all(|c| c.requests.iter().all(|r| r.model.is_some())) {
        return;
    }
    let mut uses: HashMap<(&Name, &Name), u64> = HashMap::new();
    for r in chains.iter().flat_map(|c| &c.requests) {
        if let (Some(s), Some(m)) = (r.session, r.model) {
            *uses.entry((s, m)).or_default() += 1;
        }
    }
    // The most used, the smaller name on a tie (a fixed choice whatever the hash order).
    let mut model_of: HashMap<&Name, (u64, &Name)> = HashMap::new();
    for ((s, m), n) in uses {
        let best = model_of.entry(s).or_insert((n, m));
        if n > best.0 || (n == best.0 && m < best.1) {
            *best = (n, m);
        }
    }
    for r in chains.iter_mut().flat_map(|c| &mut c.requests).filter(|r| r.model.is_none()) {
        r.model = r.session.and_then(|s| model_of.get(s)).map(|&(_, m)| m);
    }
}

/// Walks one stream's records in time order.
fn requests_of<'a, S: Source + ?Sized>(items: &[Item<'_>], responses: &S, places: &'a Places) -> Vec<Request<'a>> {
    // At most one request an item: room for them all at once, none of the copies growth makes.
    let mut out: Vec<Request<'a>> = Vec::with_capacity(items.len());
    // Retry lines since the last request: they delayed the next one.
    let mut retries: Vec<&Event> = Vec::new();
    let mut continues = false;
    // The names of the last record's place looked up: a stream's records come in runs of
    // one place.
    type Names<'n> = (&'n Name, Option<&'n Name>);
    let mut last: Option<(*const Place, Names<'a>)> = None;
    let mut names_of = |o: &Origin| -> Names<'a> {
        let at = std::sync::Arc::as_ptr(&o.place);
        match last {
            Some((l, p)) if l == at => p,
            _ => last.insert((at, places.get(&o.place))).1,
        }
    };
    for item in items {
        let prev_end = out.last().map(|r| r.end());
        match *item {
            Item::Retry(e) => retries.push(e),
            Item::Response(i) => {
                let r = responses.get(i);
                out.push(response(r, names_of(&r.origin), &retries, prev_end, continues));
                retries.clear();
                continues = false;
            }
            Item::Recovery(_) => {
                if let Some(last) = out.last_mut().filter(|l| l.ended() == Ended::Response) {
                    last.set_cut(true);
                    continues = true;
                }
            }
            Item::Final(e @ Event { kind: EventKind::Final(ErrorKind::RateLimit), .. }) => {
                out.push(failed(e, names_of(&e.origin), &retries, prev_end, Ended::Throttled, None));
                retries.clear();
                continues = false;
            }
            Item::Final(e @ Event { kind: EventKind::Final(ErrorKind::OutputTokenMaximum(n)), .. }) => {
                let n = *n;
                // The cut response it ends, if the record of it is the last thing before it.
                let attach = out.last_mut().filter(|l| {
                    l.ended() == Ended::Response && !l.gave_up() && (l.cut() || (!l.estimated() && l.output() >= n))
                });
                match attach {
                    Some(last) => {
                        last.set_cut(true);
                        last.set_gave_up(true);
                        if last.cut_limit().is_none() {
                            last.set_cut_limit(Some(n));
                        }
                    }
                    None => out.push(failed(e, names_of(&e.origin), &retries, prev_end, Ended::CutError, Some(n))),
                }
                retries.clear();
                continues = false;
            }
            // Other final errors (overloaded, usage limits, …) carry no load to replay.
            Item::Final(_) => {}
        }
    }
    // Every chain is held until its plan is made: none keeps the room it did not use.
    out.shrink_to_fit();
    out
}

/// When a request was sent: the user line before it when that lies after the previous
/// request's end; else right after that end, or an estimate before its first line.
fn sent_at(requested: Option<EpochMs>, first: EpochMs, prev_end: Option<EpochMs>) -> EpochMs {
    let floor = prev_end.unwrap_or(EpochMs::MIN);
    match requested {
        Some(t) if t <= first && t >= floor => t,
        _ => (first - DEFAULT_FIRST_TOKEN_MS).max(floor).min(first),
    }
}

/// The first attempt's time and the last one's, given the retry lines before the request.
fn attempts(start: EpochMs, retries: &[&Event], limit: EpochMs) -> (EpochMs, EpochMs, u32) {
    let mut start = start;
    let mut last = start;
    let mut throttled = 0;
    for e in retries {
        let t = e.origin.time().unwrap_or(start);
        start = start.min(t);
        let wait = match e.retry_in_ms {
            Some(ms) => i64::try_from(ms).unwrap_or(i64::MAX),
            None => retries::delay_ms(e.attempt.map_or(1, |a| u32::try_from(a).unwrap_or(u32::MAX))),
        };
        last = last.max(t.saturating_add(wait));
        if matches!(e.kind, EventKind::Retry(ErrorKind::RateLimit)) {
            throttled += 1;
        }
    }
    (start, last.min(limit).max(start), throttled)
}

/// A request that got a response: `r`, of the model and session `names` (its place's, as
/// [`Places`] holds them).
fn response<'a>(
    r: &Response,
    (model, session): (&'a Name, Option<&'a Name>),
    retries: &[&Event],
    prev_end: Option<EpochMs>,
    continues: bool,
) -> Request<'a> {
    let first = r.origin.time().unwrap_or_default();
    let end = r.end.get().unwrap_or(first).max(first);
    let start = sent_at(r.origin.requested(), first, prev_end);
    let (start, admitted, throttled) = attempts(start, retries, first);
    let names_limit = r.max_tokens_stop && !r.estimated;
    Request {
        model: Some(model),
        session,
        sent: start,
        span: Span::of(start, admitted, end),
        input: Count::new(r.usage.input().saturating_add(r.usage.cache_creation())),
        cache_read: Count::new(r.usage.cache_read()),
        output: r.output,
        // The limit a response stopped at `max_tokens` names: its own output, if measured.
        cut_limit: if names_limit { r.output } else { Count::default() },
        thinking: Count::new(r.usage.thinking().unwrap_or(0)),
        marks: Marks::of(Ended::Response, throttled)
            .with(Marks::ESTIMATED, r.estimated)
            .with(Marks::CUT, r.max_tokens_stop)
            .with(Marks::HAS_CUT_LIMIT, names_limit)
            .with(Marks::CONTINUES, continues)
            .with(Marks::HAS_THINKING, r.usage.thinking().is_some())
            .with(Marks::SETTING_IGNORED, super::limits::setting_ignored(&r.origin.place)),
    }
}

/// A request that got no response: failed after its retries, or cut and not kept.
fn failed<'a>(
    e: &Event,
    (_, session): (&'a Name, Option<&'a Name>),
    retries: &[&Event],
    prev_end: Option<EpochMs>,
    ended: Ended,
    limit: Option<u64>,
) -> Request<'a> {
    let at = e.origin.time().unwrap_or_default();
    let start = sent_at(e.origin.requested(), at, prev_end);
    let (start, last, throttled) = attempts(start, retries, at);
    let refused = u32::from(ended == Ended::Throttled);
    Request {
        model: None,
        session,
        sent: start,
        span: Span::of(start, if ended == Ended::Throttled { at } else { last }, at.max(start)),
        input: Count::default(),
        cache_read: Count::default(),
        output: Count::default(),
        cut_limit: Count::new(limit.unwrap_or(0)),
        thinking: Count::default(),
        marks: Marks::of(ended, throttled.saturating_add(refused))
            .with(Marks::CUT, ended == Ended::CutError)
            .with(Marks::HAS_CUT_LIMIT, limit.is_some())
            .with(Marks::GAVE_UP, ended == Ended::CutError)
            .with(Marks::SETTING_IGNORED, super::limits::setting_ignored(&e.origin.place)),
    }
}

/// A request without a response takes the model of the stream's previous response, else of
/// its next one.
fn fill_models(requests: &mut [Request<'_>]) {
    let mut last = None;
    for r in requests.iter_mut() {
        match r.model {
            Some(m) => last = Some(m),
            None => r.model = last,
        }
    }
    let mut next = None;
    for r in requests.iter_mut().rev() {
        match r.model {
            Some(m) => next = Some(m),
            None => r.model = next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::data::{Count, Tokens};
    use crate::scan::data::{Origin, Place};

    const T0: EpochMs = 1_780_000_000_000;

    /// A request's flags, end and throttled count share one word: each is held apart.
    #[test]
    fn a_requests_marks_hold_each_flag_its_end_and_its_throttled_count_apart() {
        let base = Request::answered("m", T0, T0 + 1_000);
        assert_eq!(std::mem::size_of::<Request>(), 56);
        assert!(!base.cut() && !base.continues() && !base.gave_up() && !base.setting_ignored() && !base.estimated());
        assert_eq!(
            (base.ended(), base.throttled(), base.cut_limit(), base.thinking()),
            (Ended::Response, 0, None, None)
        );
        // Each setter changes its own mark only.
        type Set = fn(&mut Request);
        type Get = fn(&Request) -> bool;
        let setters: [(Set, Get); 4] = [
            (|r| r.set_cut(true), |r| r.cut()),
            (|r| r.set_continues(true), |r| r.continues()),
            (|r| r.set_gave_up(true), |r| r.gave_up()),
            (|r| r.set_setting_ignored(true), |r| r.setting_ignored()),
        ];
        for (k, (set, _)) in setters.iter().enumerate() {
            let r = base.clone().with(|r| {
                set(r);
                r.set_throttled(7);
                r.set_ended(Ended::CutError);
            });
            for (j, (_, get)) in setters.iter().enumerate() {
                assert_eq!(get(&r), j == k, "setter {k}, mark {j}");
            }
            assert_eq!((r.ended(), r.throttled(), r.cut_limit(), r.estimated()), (Ended::CutError, 7, None, false));
        }
        // The end in two bits, each of the three.
        for ended in [Ended::Throttled, Ended::CutError, Ended::Response] {
            let r = base.clone().with(|r| {
                r.set_throttled(3);
                r.set_cut(true);
                r.set_ended(ended);
            });
            assert_eq!((r.ended(), r.throttled(), r.cut()), (ended, 3, true));
        }
        // The count saturates at its largest, the flags untouched; a smaller one is held again.
        let r = base.clone().with(|r| {
            r.set_gave_up(true);
            r.set_throttled(u32::MAX);
        });
        assert_eq!((r.throttled(), r.gave_up(), r.ended()), (Marks::MAX_THROTTLED, true, Ended::Response));
        assert_eq!(Marks::MAX_THROTTLED, (1 << 23) - 1);
        let r = r.with(|r| r.set_throttled(2));
        assert_eq!((r.throttled(), r.gave_up()), (2, true));
        // The limit a cut names, and turning it off.
        let r = base.clone().with_cut_limit(Some(4_000));
        assert_eq!((r.cut_limit(), r.cut()), (Some(4_000), false));
        assert_eq!(r.with_cut_limit(None).cut_limit(), None);
    }

    /// A request's times: when it was sent, and its admission and end as spans after that,
    /// read back as set; a span before the sending is none, an end before the admission is
    /// the admission, and a span longer than 32 bits of milliseconds is held as the longest.
    #[test]
    fn a_requests_times_read_back_as_set_within_their_spans() {
        let mut r = Request::answered("m", T0, T0 + 9_000);
        assert_eq!((r.start(), r.admitted(), r.end(), r.duration()), (T0, T0, T0 + 9_000, 9_000));
        r.set_times(T0 + 5, T0 + 1_605, T0 + 20_000);
        assert_eq!((r.start(), r.admitted(), r.end(), r.duration()), (T0 + 5, T0 + 1_605, T0 + 20_000, 18_395));
        r.set_times(T0, T0 - 1, T0 - 2);
        assert_eq!((r.start(), r.admitted(), r.end()), (T0, T0, T0));
        r.set_times(T0, T0 + 7, T0 + 3);
        assert_eq!((r.admitted(), r.end(), r.duration()), (T0 + 7, T0 + 7, 0));
        let longest = i64::from(u32::MAX);
        r.set_times(T0, T0 + longest - 1, T0 + 100 * longest);
        assert_eq!((r.admitted(), r.end(), r.duration()), (T0 + longest - 1, T0 + longest, 1));
        r.set_times(EpochMs::MIN, 0, EpochMs::MAX);
        assert_eq!((r.admitted(), r.end()), (EpochMs::MIN + longest, EpochMs::MIN + longest));
    }

    /// The counts a request holds in 32 bits: every bound the selection keeps responses and
    /// limits under fits, and a request at those bounds reads back what it was made from.
    #[test]
    fn token_counts_at_the_selections_bounds_read_back_whole() {
        let most_output = crate::models::table().families.iter().map(|f| f.max_output_cap.value).max().unwrap();
        for bound in [crate::models::MAX_INPUT_TOKENS, crate::models::MAX_OUTPUT_LIMIT, most_output] {
            assert!(u32::try_from(bound).is_ok(), "{bound} does not fit a chain's 32 bits");
        }
        let mut r = resp("s", 0, 10, None, most_output, true);
        let third = crate::models::MAX_INPUT_TOKENS / 3;
        r.usage = Tokens::new(third, third, crate::models::MAX_INPUT_TOKENS - 2 * third, None);
        let places = Places::of(&[&r], &[]);
        let chains = build(Stock::Borrowed(vec![&r]), &[], &places);
        let q = &chains[0].requests[0];
        assert_eq!(
            (q.input(), q.cache_read(), q.output()),
            (2 * third, crate::models::MAX_INPUT_TOKENS - 2 * third, most_output)
        );
        assert_eq!(q.cut_limit(), Some(most_output));
        // Above them (only a test makes one), held at the largest count.
        let big = Request::answered("m", T0, T0 + 1).with_tokens(u64::MAX, 1 << 32, 7);
        assert_eq!((big.input(), big.cache_read(), big.output()), (u64::from(u32::MAX), u64::from(u32::MAX), 7));
    }

    fn origin(stream: &str, time: i64, requested: Option<i64>) -> Origin {
        Origin::new(
            Some(T0 + time),
            requested.map(|r| T0 + r),
            std::sync::Arc::new(Place {
                stream: Name::from(stream),
                session: Some(Name::from("s")),
                model: Name::from("claude-sonnet-4-20250514"),
                ..Place::default()
            }),
        )
    }

    fn resp(stream: &str, first: i64, end: i64, requested: Option<i64>, output: u64, stop: bool) -> Response {
        Response {
            origin: origin(stream, first, requested),
            end: Some(T0 + end).into(),
            output: Count::new(output),
            estimated: false,
            usage: Tokens::new(10, 1_000, 20_000, None),
            max_tokens_stop: stop,
        }
    }

    fn event(stream: &str, time: i64, kind: EventKind, attempt: Option<u64>, wait: Option<u64>) -> Event {
        Event { origin: origin(stream, time, None), kind, attempt, retry_in_ms: wait, reset: None, wording: None }
    }

    #[test]
    fn a_stream_with_a_throttled_request_a_cut_and_a_failure() {
        let responses = [
            // Sent at 0 (user line), lines at 3 s and 5 s.
            resp("s", 3_000, 5_000, Some(0), 400, false),
            // Sent at 10 s; two refused attempts (at 10 s waiting 0.5 s, at 10.6 s waiting 1 s);
            // got through at 11.6 s, answered by 20 s, stopped at max_tokens.
            resp("s", 14_000, 20_000, Some(10_000), 8_000, true),
            // The continuation after the recovery prompt at 20 s.
            resp("s", 22_000, 25_000, Some(20_000), 1_500, false),
        ];
        let events = [
            event("s", 10_000, EventKind::Retry(ErrorKind::RateLimit), Some(1), Some(500)),
            event("s", 10_600, EventKind::Retry(ErrorKind::RateLimit), Some(2), Some(1_000)),
            event("s", 20_000, EventKind::RecoveryPrompt, None, None),
            // Later: a request refused 11 times, failing at 100 s.
            event("s", 60_000, EventKind::Retry(ErrorKind::RateLimit), Some(1), Some(500)),
            event("s", 100_000, EventKind::Final(ErrorKind::RateLimit), None, None),
            // Another stream is another chain.
            event("agent:x", 5_000, EventKind::Final(ErrorKind::RateLimit), None, None),
        ];
        let rs: Vec<&Response> = responses.iter().collect();
        let es: Vec<&Event> = events.iter().collect();
        let places = Places::of(&rs, &es);
        let chains = build(Stock::Borrowed(rs.clone()), &es, &places);
        assert_eq!(chains.len(), 2);
        let c = chains.iter().find(|c| c.stream() == "s").unwrap();
        let r = &c.requests;
        assert_eq!(r.len(), 4);
        assert_eq!((r[0].start() - T0, r[0].admitted() - T0, r[0].end() - T0, r[0].throttled()), (0, 0, 5_000, 0));
        assert_eq!(
            (r[1].start() - T0, r[1].admitted() - T0, r[1].end() - T0, r[1].throttled()),
            (10_000, 11_600, 20_000, 2)
        );
        assert_eq!((r[1].cut(), r[1].cut_limit(), r[1].input()), (true, Some(8_000), 1_010));
        assert_eq!((r[2].continues(), r[2].start() - T0), (true, 20_000));
        assert_eq!(
            (r[3].ended(), r[3].throttled(), r[3].start() - T0, r[3].end() - T0),
            (Ended::Throttled, 2, 60_000, 100_000)
        );
        // The failed request takes the stream's model; a stream with no response at all, its
        // session's.
        assert_eq!(r[3].model(), Some("claude-sonnet-4-20250514"));
        let other = chains.iter().find(|c| c.stream() == "agent:x").unwrap();
        assert_eq!(other.requests[0].model(), Some("claude-sonnet-4-20250514"));
    }

    /// A chain holds its first record's stream, folder and working directory, and each request
    /// its own record's model and session, though the records' places are given back with
    /// them: a stream whose records name two sessions and two models (each name a string of
    /// its own, equal text or not), made from responses the chains take and free.
    #[test]
    fn a_chain_and_its_requests_keep_their_own_records_names() {
        let at = |time: i64, session: &str, model: &str, cwd: &str| {
            let mut r = resp("agent:z", time, time + 500, Some(time - 100), 40, false);
            let place = std::sync::Arc::make_mut(&mut r.origin.place);
            (place.session, place.model, place.cwd) =
                (Some(Name::from(session)), Name::from(model), Some(Name::from(cwd)));
            place.project = Name::from(format!("folder-{cwd}"));
            r
        };
        // Out of time order in the list: the chain's names are its earliest record's.
        let responses = vec![
            at(4_000, "s2", "claude-haiku-4-5", "/b"),
            at(1_000, "s1", "claude-sonnet-4-20250514", "/a"),
            at(2_000, "s1", "claude-sonnet-4-20250514", "/a"),
            at(3_000, "s2", "claude-sonnet-4-20250514", "/b"),
        ];
        let failed = Event {
            origin: {
                let mut o = origin("agent:z", 5_000, None);
                std::sync::Arc::make_mut(&mut o.place).session = Some(Name::from("s2"));
                o
            },
            ..event("agent:z", 5_000, EventKind::Final(ErrorKind::RateLimit), None, None)
        };
        let es: Vec<&Event> = vec![&failed];
        let names = |chains: &[Chain]| {
            let c = &chains[0];
            let requests: Vec<(Option<&str>, Option<&str>)> =
                c.requests.iter().map(|r| (r.session(), r.model())).collect();
            (
                c.stream().to_string(),
                c.project().to_string(),
                c.cwd().map(String::from),
                requests.len(),
                format!("{requests:?}"),
            )
        };
        let want = (
            "agent:z".to_string(),
            "folder-/a".to_string(),
            Some("/a".to_string()),
            5,
            format!(
                "{:?}",
                [
                    (Some("s1"), Some("claude-sonnet-4-20250514")),
                    (Some("s1"), Some("claude-sonnet-4-20250514")),
                    (Some("s2"), Some("claude-sonnet-4-20250514")),
                    (Some("s2"), Some("claude-haiku-4-5")),
                    // Refused to the end: its session, its neighbour's model.
                    (Some("s2"), Some("claude-haiku-4-5")),
                ]
            ),
        );
        let rs: Vec<&Response> = responses.iter().collect();
        let places = Places::of(&rs, &es);
        assert_eq!(names(&build(Stock::Borrowed(rs.clone()), &es, &places)), want);
        // Taken and given back as the chains are made: the same names.
        let scoped = (0..responses.len() as u32).collect();
        let owned = build_in(Stock::Owned { all: responses.clone(), scoped }, &es, &places, 1);
        assert_eq!(names(&owned), want);
    }

    /// Issue 23, item 2: a subagent refused until it failed counts for its session's model
    /// (the most used one), however many models the history holds; a session with no
    /// response keeps no model.
    #[test]
    fn a_stream_without_a_response_takes_its_sessions_model() {
        let mut haiku = resp("s", 1_000, 2_000, Some(0), 10, false);
        std::sync::Arc::make_mut(&mut haiku.origin.place).model = Name::from("claude-haiku-4-5");
        let responses =
            [resp("s", 3_000, 5_000, Some(2_000), 40, false), resp("s", 6_000, 8_000, None, 40, false), haiku];
        let lone = Event {
            origin: {
                let mut o = origin("agent:y", 9_000, None);
                std::sync::Arc::make_mut(&mut o.place).session = Some(Name::from("lone"));
                o
            },
            ..event("agent:y", 9_000, EventKind::Final(ErrorKind::RateLimit), None, None)
        };
        let events = [event("agent:x", 5_000, EventKind::Final(ErrorKind::RateLimit), None, None), lone];
        let rs: Vec<&Response> = responses.iter().collect();
        let es: Vec<&Event> = events.iter().collect();
        let places = Places::of(&rs, &es);
        let chains = build(Stock::Borrowed(rs.clone()), &es, &places);
        let model = |stream: &str| chains.iter().find(|c| c.stream() == stream).unwrap().requests[0].model();
        assert_eq!(model("agent:x"), Some("claude-sonnet-4-20250514"));
        assert_eq!(model("agent:y"), None);
    }

    #[test]
    fn an_exceeded_error_ends_the_cut_response_before_it_or_stands_alone() {
        let out = |n: u64| EventKind::Final(ErrorKind::OutputTokenMaximum(n));
        let responses = [resp("s", 1_000, 9_000, Some(0), 32_000, true)];
        let events = [event("s", 9_500, out(32_000), None, None), event("s", 50_000, out(32_000), None, None)];
        let rs: Vec<&Response> = responses.iter().collect();
        let es: Vec<&Event> = events.iter().collect();
        let places = Places::of(&rs, &es);
        let r = &build(Stock::Borrowed(rs.clone()), &es, &places)[0].requests;
        // One cut response, one event: the stop and the error are the same cut.
        assert_eq!(r.len(), 2);
        assert!(r[0].cut() && r[0].gave_up() && r[0].cut_limit() == Some(32_000));
        // The second error follows no cut response: a cut whose response was not kept.
        assert_eq!((r[1].ended(), r[1].cut_limit(), r[1].output()), (Ended::CutError, Some(32_000), 0));
    }

    #[test]
    fn times_are_never_before_the_previous_end() {
        // No user line recorded (requested None) and a user line older than the previous end.
        let responses = [resp("s", 1_000, 30_000, None, 50, false), resp("s", 31_000, 40_000, Some(500), 50, false)];
        let rs: Vec<&Response> = responses.iter().collect();
        let places = Places::of(&rs, &[]);
        let r = &build(Stock::Borrowed(rs.clone()), &[], &places)[0].requests;
        assert_eq!(r[0].start() - T0, 1_000 - DEFAULT_FIRST_TOKEN_MS);
        assert_eq!(r[1].start() - T0, 30_000);
    }

    /// A scan's own responses, given back from the end of the list as the chains are made,
    /// make the same chains as the same responses borrowed: seven streams whose responses
    /// come in runs and interleave, ties in time within a stream, responses out of scope and
    /// without a time, events of some streams; the list cut after every response, every few,
    /// and not at all.
    #[test]
    fn owned_responses_given_back_make_the_same_chains() {
        let mut responses: Vec<Response> = Vec::new();
        for i in 0..210i64 {
            // Runs of three of one stream, the streams in turn, each later than the last.
            let stream = format!("s{}", (i / 3) % 7);
            let t = 1_000 * (i / 2) + 7 * (i % 5);
            let mut r = resp(&stream, t, t + 500, Some(t - 100), 10 + i as u64, i % 11 == 0);
            if i % 17 == 0 {
                r.origin.set_time(None);
            }
            responses.push(r);
        }
        // The stream s3 starts before the others: it is made first, its responses not last.
        responses[100].origin.set_time(Some(T0 - 5_000));
        let events = [
            event("s1", 4_000, EventKind::Retry(ErrorKind::RateLimit), Some(1), Some(500)),
            event("s2", 9_000, EventKind::RecoveryPrompt, None, None),
            event("s4", 20_000, EventKind::Final(ErrorKind::RateLimit), None, None),
            event("s9", 3_000, EventKind::Final(ErrorKind::RateLimit), None, None),
            event("s5", 30_000, EventKind::MaxTokensStop, None, None),
        ];
        let es: Vec<&Event> = events.iter().collect();
        let scoped: Vec<u32> = (0..responses.len() as u32).filter(|i| i % 5 != 2).collect();
        let refs: Vec<&Response> = scoped.iter().map(|&i| &responses[i as usize]).collect();
        let places = Places::of(&refs, &es);
        let borrowed = build(Stock::Borrowed(refs.clone()), &es, &places);
        assert_eq!(borrowed.len(), 8, "seven streams and one of an event alone");
        for batch in [1, 4, 50, 10_000] {
            let owned = build_in(Stock::Owned { all: responses.clone(), scoped: scoped.clone() }, &es, &places, batch);
            assert_eq!(owned, borrowed, "batch {batch}");
        }
    }
}
