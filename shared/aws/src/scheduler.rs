//! [`ScheduleTrigger`] on EventBridge Scheduler: one schedule per export schedule, named
//! by its id, in one schedule group, invoking the export-schedule Lambda with
//! `{"schedule_id", "tenant_id", "scheduled_at"}` (`scheduled_at` filled in by the
//! scheduler from `<aws.scheduler.scheduled-time>`).

use async_trait::async_trait;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState, Target};
use ec_domain::PortError;
use ec_domain::env::Env;
use ec_domain::ports::{PortResult, ScheduleTrigger};
use ec_domain::schedule::Schedule;

use crate::config::required_var;
use crate::sdk_error::{port_error, succeeded};

pub const ENV_SCHEDULE_GROUP: &str = "EXPORTCENTER_SCHEDULE_GROUP";
pub const ENV_SCHEDULE_TARGET_ARN: &str = "EXPORTCENTER_SCHEDULE_TARGET_ARN";
pub const ENV_SCHEDULER_ROLE_ARN: &str = "EXPORTCENTER_SCHEDULER_ROLE_ARN";

/// The context attribute EventBridge Scheduler replaces with the scheduled time.
pub const SCHEDULED_TIME_PLACEHOLDER: &str = "<aws.scheduler.scheduled-time>";

/// The payload the target receives (with the placeholder still in `scheduled_at`).
pub fn target_input(schedule: &Schedule) -> String {
    serde_json::json!({
        "schedule_id": schedule.schedule_id,
        "tenant_id": schedule.tenant_id,
        "scheduled_at": SCHEDULED_TIME_PLACEHOLDER,
    })
    .to_string()
}

/// EventBridge Scheduler schedules in `group`, targeting `target_arn` as `role_arn`.
#[derive(Debug, Clone)]
pub struct EventBridgeTrigger {
    client: Client,
    group: String,
    target_arn: String,
    role_arn: String,
}

impl EventBridgeTrigger {
    pub fn new(
        client: Client,
        group: impl Into<String>,
        target_arn: impl Into<String>,
        role_arn: impl Into<String>,
    ) -> Self {
        EventBridgeTrigger {
            client,
            group: group.into(),
            target_arn: target_arn.into(),
            role_arn: role_arn.into(),
        }
    }

    /// From `EXPORTCENTER_SCHEDULE_GROUP`, `EXPORTCENTER_SCHEDULE_TARGET_ARN` and
    /// `EXPORTCENTER_SCHEDULER_ROLE_ARN` in `env` (all required).
    pub fn from_vars(env: &dyn Env, client: Client) -> PortResult<Self> {
        Ok(EventBridgeTrigger::new(
            client,
            required_var(env, ENV_SCHEDULE_GROUP)?,
            required_var(env, ENV_SCHEDULE_TARGET_ARN)?,
            required_var(env, ENV_SCHEDULER_ROLE_ARN)?,
        ))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    fn target(&self, schedule: &Schedule) -> PortResult<Target> {
        Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(target_input(schedule))
            .build()
            .map_err(|e| PortError::Invalid(format!("schedule target: {e}")))
    }

    fn window() -> PortResult<FlexibleTimeWindow> {
        FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| PortError::Invalid(format!("schedule time window: {e}")))
    }

    fn description(schedule: &Schedule) -> String {
        format!("ExportCenter schedule of tenant {}", schedule.tenant_id)
    }
}

#[async_trait]
impl ScheduleTrigger for EventBridgeTrigger {
    /// CreateSchedule; if it exists already (ConflictException), UpdateSchedule with the
    /// same definition. Either way the schedule ends up as given.
    async fn register(
        &self,
        schedule: &Schedule,
        expression: &str,
        timezone: &str,
    ) -> PortResult<()> {
        let name = schedule.schedule_id.as_str();
        let created = self
            .client
            .create_schedule()
            .name(name)
            .group_name(&self.group)
            .description(Self::description(schedule))
            .schedule_expression(expression)
            .schedule_expression_timezone(timezone)
            .state(ScheduleState::Enabled)
            .flexible_time_window(Self::window()?)
            .target(self.target(schedule)?)
            .send()
            .await;
        let exists =
            |e: &CreateScheduleError| matches!(e, CreateScheduleError::ConflictException(_));
        if succeeded(created, exists, || format!("cannot create schedule {name}"))? {
            return Ok(());
        }
        self.client
            .update_schedule()
            .name(name)
            .group_name(&self.group)
            .description(Self::description(schedule))
            .schedule_expression(expression)
            .schedule_expression_timezone(timezone)
            .state(ScheduleState::Enabled)
            .flexible_time_window(Self::window()?)
            .target(self.target(schedule)?)
            .send()
            .await
            .map_err(|e| port_error(&format!("cannot update schedule {name}"), e))?;
        Ok(())
    }

    /// DeleteSchedule; a schedule that does not exist is already unregistered.
    async fn unregister(&self, schedule: &Schedule) -> PortResult<()> {
        let name = schedule.schedule_id.as_str();
        let deleted = self
            .client
            .delete_schedule()
            .name(name)
            .group_name(&self.group)
            .send()
            .await;
        let missing = |e: &DeleteScheduleError| {
            matches!(e, DeleteScheduleError::ResourceNotFoundException(_))
        };
        succeeded(deleted, missing, || {
            format!("cannot delete schedule {name}")
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_env_given() {
        let client = Client::from_conf(
            aws_sdk_scheduler::Config::builder()
                .behavior_version(aws_sdk_scheduler::config::BehaviorVersion::latest())
                .build(),
        );
        let env = [
            (ENV_SCHEDULE_GROUP, "exports"),
            (ENV_SCHEDULE_TARGET_ARN, "arn:target"),
            (ENV_SCHEDULER_ROLE_ARN, "arn:role"),
        ];
        let trigger = EventBridgeTrigger::from_vars(&env, client.clone());
        assert_eq!(
            trigger.map(|t| t.group().to_string()).ok().as_deref(),
            Some("exports")
        );
        let partial = [(ENV_SCHEDULE_GROUP, "exports")];
        match EventBridgeTrigger::from_vars(&partial, client) {
            Err(PortError::Backend(m)) => assert!(m.contains(ENV_SCHEDULE_TARGET_ARN), "{m}"),
            other => panic!("expected Backend, got {other:?}"),
        }
    }
}
