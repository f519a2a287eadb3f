//! The first step after the scan: the responses and events that pass the filters, and the
//! responses grouped by model.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use crate::config::Filters;
use crate::models;
use crate::scan::data::{Event, Response, ScanData};
use crate::scan::key::Name;

/// What the filters let through.
#[derive(Debug, Default)]
pub struct Selection<'a> {
    /// Responses that pass every filter, in scan order.
    pub responses: Vec<&'a Response>,
    /// The same responses by model name (the family's display name, else the canonical id).
    pub by_model: BTreeMap<String, Vec<&'a Response>>,
    /// Events that pass the date and project filters (error records carry no model).
    pub events: Vec<&'a Event>,
    /// Responses of every model that pass the date and project filters: the requests the
    /// chains are made of (another model's requests take time in a stream too).
    pub scoped: Vec<&'a Response>,
    /// Responses left out because they record (or were estimated at) more output tokens than
    /// any model allows: a corrupt count, not a measurement.
    pub implausible: u64,
    /// The bound they broke: the largest upper limit in the model table.
    pub plausible_up_to: u64,
}

/// Applies the filters to a scan.
pub fn select<'a>(data: &'a ScanData, filters: &Filters) -> Selection<'a> {
    // Each response is named (its model family): the name serves the --model filter, the
    // per-model rows and the recommendation's choice of model. Names are worked out per
    // distinct model id (there are few), and a run of responses with the same id (a file's
    // share one string) is not looked up again.
    let mut group_of_id: HashMap<&str, Option<usize>> = HashMap::new();
    let mut groups: Vec<(String, Vec<&Response>)> = Vec::new();
    let mut previous: Option<(&Name, Option<usize>)> = None;
    let mut responses: Vec<&Response> = Vec::new();
    let mut scoped: Vec<&Response> = Vec::new();
    let plausible_up_to = models::table().families.iter().map(|f| f.max_output_cap.value).max().unwrap_or(u64::MAX);
    let mut implausible = 0;
    for r in &data.responses {
        if !filters.time_ok(r.origin.time) || !filters.project_ok(&r.origin.project, r.origin.cwd.as_deref()) {
            continue;
        }
        if r.output > plausible_up_to {
            implausible += 1;
            continue;
        }
        scoped.push(r);
        let group = match previous {
            Some((model, group)) if Arc::ptr_eq(model, &r.model) => group,
            _ => {
                let group = *group_of_id.entry(&r.model).or_insert_with(|| {
                    let name = models::display_name(&r.model);
                    (filters.model_ok(&r.model) || filters.model_ok(&name)).then(|| {
                        groups.iter().position(|(n, _)| *n == name).unwrap_or_else(|| {
                            groups.push((name, Vec::new()));
                            groups.len() - 1
                        })
                    })
                });
                previous = Some((&r.model, group));
                group
            }
        };
        if let Some(g) = group {
            groups[g].1.push(r);
            responses.push(r);
        }
    }
    let by_model: BTreeMap<String, Vec<&Response>> = groups.into_iter().collect();
    let events: Vec<&Event> = data
        .events
        .iter()
        .filter(|e| filters.time_ok(e.origin.time) && filters.project_ok(&e.origin.project, e.origin.cwd.as_deref()))
        .collect();

    Selection { responses, by_model, events, scoped, implausible, plausible_up_to }
}
