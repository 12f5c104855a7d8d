"""Calendar actions: calendars and their free slots, appointments and their notes, and each
calendar's notifications (reminders, confirmations, follow-ups).

GHL books only a time it offered as a free slot, written exactly as free-slots wrote it (the
same instant as UTC ``Z`` is refused: research/ghl-wire-facts.md §6.1), so ``startTime`` goes to
GHL as given and ``calendars.free_slots`` answers slots ready to pass back.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator

from ghl_bridge.actions.models import (
    JSON,
    Id,
    Input,
    Instant,
    Items,
    Name,
    Output,
    Record,
    Text,
    items_of,
)
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.errors import InvalidInput

actions = ActionSet()

CAL_READ = ("calendars.readonly",)
EVENTS_READ, EVENTS_WRITE = ("calendars/events.readonly",), ("calendars/events.write",)
MAX_RANGE_DAYS = 31  # GHL's cap on a free-slots range


class CalendarQuery(Input):
    group_id: Id | None = None


@actions.define(
    "calendars.list",
    "The location's calendars (optionally one group's), with their settings.",
    scopes=CAL_READ,
)
async def list_calendars(ctx: ActionContext, data: CalendarQuery) -> Items:
    answer = await ctx.ghl.calendars.list(ctx.location_id, group_id=data.group_id, options=ctx.opts)
    return items_of(list(answer.get("calendars", [])))


class SlotQuery(Input):
    calendar_id: Id
    start_date: date
    end_date: date = Field(description="inclusive; at most 31 days after startDate")
    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA zone the dates are read in and slots written in (default: UTC for"
        " the dates, the location's zone for the slots)",
    )
    user_ids: list[Id] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _range(self) -> SlotQuery:
        if self.end_date < self.start_date:
            raise ValueError("endDate must not be before startDate")
        if (self.end_date - self.start_date).days >= MAX_RANGE_DAYS:
            raise ValueError(f"GHL gives free slots for at most {MAX_RANGE_DAYS} days at a time")
        return self


class Day(Output):
    date: str
    slots: list[str]


class SlotsOut(Output):
    slots: list[str] = Field(description="every free slot start, in order: book one as it is")
    days: list[Day]
    count: int


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{name!r} is not an IANA time zone") from None


@actions.define(
    "calendars.free_slots",
    "A calendar's free slots between two dates, in a time zone.",
    scopes=CAL_READ,
    notes="GHL answers at most 31 days per call. Slots are ISO 8601 with the zone's offset;"
    " pass one unchanged as appointments.create's startTime.",
)
async def free_slots(ctx: ActionContext, data: SlotQuery) -> SlotsOut:
    zone = _zone(data.timezone)
    start = datetime.combine(data.start_date, time.min, zone)
    end = datetime.combine(data.end_date + timedelta(days=1), time.min, zone)
    answer = await ctx.ghl.calendars.free_slots(
        ctx.location_id,
        data.calendar_id,
        int(start.timestamp() * 1000),
        int(end.timestamp() * 1000) - 1,
        timezone=data.timezone,
        user_ids=data.user_ids,
        options=ctx.opts,
    )
    days = [
        Day(date=key, slots=[str(s) for s in value.get("slots", [])])
        for key, value in sorted(answer.items())
        if isinstance(value, dict) and key[:1].isdigit()  # next to the dates sits a traceId
    ]
    slots = [slot for day in days for slot in day.slots]
    return SlotsOut(slots=slots, days=days, count=len(slots))


# --- appointments -----------------------------------------------------------------------------

Status = Literal["new", "confirmed", "cancelled", "showed", "noshow", "invalid"]
MeetingType = Literal["custom", "zoom", "gmeet", "phone", "address", "ms_teams", "google"]


class NewAppointment(Input):
    calendar_id: Id
    contact_id: Id
    start_time: Instant = Field(description="a free slot, exactly as free_slots wrote it")
    end_time: Instant | None = Field(default=None, description="default: the slot's length")
    title: Name | None = Field(default=None, description="default: the contact's name")
    description: Text | None = None
    appointment_status: Status | None = None
    assigned_user_id: Id | None = None
    address: str | None = Field(default=None, max_length=1000)
    meeting_location_type: MeetingType | None = None
    ignore_free_slot_validation: bool | None = Field(
        default=None, description="book even if the time is not a free slot"
    )
    to_notify: bool | None = Field(
        default=None, description="false: do not run GHL's automations and notifications"
    )


class AppointmentOut(Output):
    appointment: Record


def _appointment(answer: JSON) -> Record:
    return Record.model_validate(answer.get("appointment", answer))


@actions.define(
    "appointments.create",
    "Book an appointment for a contact on a calendar.",
    scopes=EVENTS_WRITE,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="GHL refuses a time that is not a free slot (400 'The slot you have selected is no"
    " longer available'), so a retried booking of the same slot fails rather than doubling;"
    " with ignoreFreeSlotValidation it would book twice. Send an Idempotency-Key to retry."
    " GHL's answer leaves out startTime/endTime: appointments.get has them.",
)
async def create_appointment(ctx: ActionContext, data: NewAppointment) -> AppointmentOut:
    answer = await ctx.ghl.appointments.create(ctx.location_id, data.wire(), options=ctx.opts)
    return AppointmentOut(appointment=_appointment(answer))


class AppointmentRef(Input):
    appointment_id: Id


@actions.define(
    "appointments.get",
    "One appointment, with its times and status.",
    scopes=EVENTS_READ,
    notes="A deleted appointment still answers, with deleted: true.",
)
async def get_appointment(ctx: ActionContext, data: AppointmentRef) -> AppointmentOut:
    answer = await ctx.ghl.appointments.get(ctx.location_id, data.appointment_id, options=ctx.opts)
    return AppointmentOut(appointment=_appointment(answer))


class Reschedule(Input):
    appointment_id: Id
    start_time: Instant = Field(description="a free slot, exactly as free_slots wrote it")
    end_time: Instant | None = None
    calendar_id: Id | None = Field(default=None, description="move it to this calendar too")
    ignore_free_slot_validation: bool | None = None
    to_notify: bool | None = None


@actions.define(
    "appointments.reschedule",
    "Move an appointment to another free slot (and optionally another calendar).",
    scopes=EVENTS_WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="The appointment's own time counts as free, so running it twice is harmless.",
)
async def reschedule(ctx: ActionContext, data: Reschedule) -> AppointmentOut:
    answer = await ctx.ghl.appointments.update(
        ctx.location_id,
        data.appointment_id,
        data.wire(exclude={"appointment_id"}),
        options=ctx.opts,
    )
    return AppointmentOut(appointment=_appointment(answer))


class Cancel(Input):
    appointment_id: Id
    to_notify: bool | None = Field(
        default=None, description="false: no cancellation notice or automations"
    )


@actions.define(
    "appointments.cancel",
    "Cancel an appointment (status cancelled); it stays on record and its slot is freed.",
    scopes=EVENTS_WRITE,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
    notes="Destructive although GHL keeps the record: the slot is released for anyone to"
    " book and GHL's cancellation notifications go to the contact, and no action can take"
    " either back. Setting the status again is harmless, so a retry is safe.",
)
async def cancel(ctx: ActionContext, data: Cancel) -> AppointmentOut:
    body = {"appointmentStatus": "cancelled", **data.wire(exclude={"appointment_id"})}
    answer = await ctx.ghl.appointments.update(
        ctx.location_id, data.appointment_id, body, options=ctx.opts
    )
    return AppointmentOut(appointment=_appointment(answer))


class NewAppointmentNote(Input):
    appointment_id: Id
    body: str = Field(min_length=1, max_length=5000)
    user_id: Id | None = None


class NoteOut(Output):
    note: Record


@actions.define(
    "appointments.add_note",
    "Add a note to an appointment.",
    scopes=EVENTS_WRITE,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="A retried create may add the note twice. A deleted appointment takes no notes.",
)
async def add_note(ctx: ActionContext, data: NewAppointmentNote) -> NoteOut:
    answer = await ctx.ghl.appointments.create_note(
        ctx.location_id, data.appointment_id, data.body, user_id=data.user_id, options=ctx.opts
    )
    return NoteOut(note=Record.model_validate(answer.get("note", answer)))


# --- notifications ----------------------------------------------------------------------------

Receiver = Literal["contact", "guest", "assignedUser", "emails", "phoneNumbers", "business"]
Channel = Literal["email", "inApp", "sms", "whatsapp"]
NotificationType = Literal[
    "booked", "confirmation", "cancellation", "reminder", "followup", "reschedule"
]


class NotificationQuery(Input):
    calendar_id: Id
    is_active: bool | None = None
    deleted: bool = Field(default=False, description="true lists the deleted ones instead")


@actions.define(
    "calendars.notifications_list",
    "A calendar's notifications: who gets what, on which channel, and when.",
    scopes=EVENTS_READ,
)
async def notifications_list(ctx: ActionContext, data: NotificationQuery) -> Items:
    answer = await ctx.ghl.calendars.list_notifications(
        ctx.location_id,
        data.calendar_id,
        is_active=data.is_active,
        deleted=data.deleted or None,
        options=ctx.opts,
    )
    return items_of(list(answer.get("data", [])))


class Schedule(Input):
    time_offset: float = Field(ge=0)
    unit: str = Field(min_length=1, max_length=16, description="e.g. minutes, hours, days")


class NotificationSetting(Input):
    calendar_id: Id
    notification_id: Id | None = Field(
        default=None,
        description="change this one; without it, the active one of the same notificationType,"
        " channel and receiverType is changed, or one is created",
    )
    notification_type: NotificationType
    channel: Channel
    receiver_type: Receiver
    is_active: bool | None = None
    subject: str | None = Field(default=None, max_length=1000)
    body: Text | None = None
    template_id: Id | None = None
    before_time: list[Schedule] | None = Field(default=None, max_length=10)
    after_time: list[Schedule] | None = Field(default=None, max_length=10)
    additional_email_ids: list[str] | None = Field(default=None, max_length=50)
    additional_phone_numbers: list[str] | None = Field(default=None, max_length=50)
    selected_users: list[str] | None = Field(default=None, max_length=50)
    from_address: str | None = Field(default=None, max_length=255)
    from_name: str | None = Field(default=None, max_length=255)
    from_number: str | None = Field(default=None, max_length=32)


class NotificationOut(Output):
    notification: Record
    created: bool


_SAME = ("notificationType", "channel", "receiverType")


@actions.define(
    "calendars.notifications_set",
    "Configure one of a calendar's notifications (e.g. an SMS reminder two hours before),"
    " creating it or changing the existing one.",
    scopes=EVENTS_READ + EVENTS_WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="Matches an existing notification by id, else by notificationType, channel and"
    " receiverType, so running it twice changes one notification rather than adding two.",
)
async def notifications_set(ctx: ActionContext, data: NotificationSetting) -> NotificationOut:
    loc, calendar = ctx.location_id, data.calendar_id
    body = data.wire(exclude={"calendar_id", "notification_id"})
    target = data.notification_id
    if target is None:
        listed = await ctx.ghl.calendars.list_notifications(loc, calendar, options=ctx.opts)
        twins = [n for n in listed.get("data", []) if all(n.get(k) == body[k] for k in _SAME)]
        twins.sort(key=lambda n: not n.get("isActive", True))  # an active twin first
        target = str(twins[0]["_id"]) if twins else None
    if target is None:
        made = await ctx.ghl.calendars.create_notifications(loc, calendar, [body], options=ctx.opts)
        return NotificationOut(notification=Record.model_validate(made["data"][0]), created=True)
    await ctx.ghl.calendars.update_notification(loc, calendar, target, body, options=ctx.opts)
    got = await ctx.ghl.calendars.get_notification(loc, calendar, target, options=ctx.opts)
    return NotificationOut(notification=Record.model_validate(got), created=False)
